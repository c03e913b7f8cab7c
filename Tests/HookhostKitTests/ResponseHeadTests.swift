import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct ResponseHeadTests {
    func feed(_ lines: [String]) -> [ResponseHead] {
        var p = ResponseHead()
        return lines.compactMap { p.consume(line: $0) }
    }

    @Test func completesAtTheBlankLineAndSkipsInterimResponses() {
        let heads = feed(["HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 206 Partial Content\r\n",
                          "Content-Type: application/jsonl \r\n", "content-range: bytes 150-299/300\r\n",
                          "Accept-Ranges: none, bytes\r\n", "ETag: \"e1\"\r\n", "Content-Length: 150\r\n", "\r\n"])
        #expect(heads.count == 1)
        let h = heads[0]
        #expect(h.status == 206)
        #expect(h.value("CONTENT-TYPE") == "application/jsonl")
        #expect(h.contentLength == 150)
        #expect(h.contentRangeStart == 150)
        #expect(h.acceptsRanges)
        #expect(h.rangeValidator == "\"e1\"")
    }

    @Test func validatorsAndRanges() {
        let weak = ResponseHead(status: 200, fields: [.init(name: "etag", value: "W/\"x\""), .init(name: "last-modified", value: "Tue, 01 Dec 2026 00:00:00 GMT")])
        #expect(weak.rangeValidator == "Tue, 01 Dec 2026 00:00:00 GMT")
        #expect(!weak.acceptsRanges)
        #expect(ResponseHead(status: 200, fields: [.init(name: "accept-ranges", value: "none")]).acceptsRanges == false)
        #expect(ResponseHead(status: 200, fields: [.init(name: "content-length", value: "-1")]).contentLength == nil)
        #expect(ResponseHead(status: 206, fields: [.init(name: "content-range", value: "items 1-2/3")]).contentRangeStart == nil)
        #expect(feed(["HTTP/2 302\r\n", "location: /x\r\n", "\r\n"]).first?.value("location") == "/x")
    }
}
