import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct HTTPParserTests {
    let parser = HTTPParser(limits: HTTPLimits(maxHeaderBytes: 1024, maxHeaderCount: 10, maxBodyBytes: 100))

    func parse(_ s: String) throws(HTTPParseError) -> HTTPParseResult { try parser.parse(Array(s.utf8)) }

    @Test func parsesPostWithBodyAndCaseInsensitiveHeaders() throws {
        guard case .complete(let r, let used) = try parse("POST /webhooks?x=1 HTTP/1.1\r\nHost: a\r\nWebhook-ID:  m1 \r\nContent-Length: 4\r\n\r\nbodyNEXT") else {
            Issue.record("incomplete"); return
        }
        #expect(r.method == "POST")
        #expect(r.path == "/webhooks")
        #expect(r.header("webhook-id") == "m1")
        #expect(r.header("WEBHOOK-ID") == "m1")
        #expect(r.body == Array("body".utf8))
        #expect(used == "POST /webhooks?x=1 HTTP/1.1\r\nHost: a\r\nWebhook-ID:  m1 \r\nContent-Length: 4\r\n\r\nbody".utf8.count)
        #expect(r.keepAlive)
    }

    @Test func incompleteUntilBodyArrives() throws {
        guard case .incomplete = try parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc") else { Issue.record("expected incomplete"); return }
        guard case .incomplete = try parse("POST / HTTP/1.1\r\nContent-Len") else { Issue.record("expected incomplete"); return }
    }

    @Test func keepAliveRules() throws {
        guard case .complete(let a, _) = try parse("GET / HTTP/1.0\r\n\r\n"), case .complete(let b, _) = try parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
              case .complete(let c, _) = try parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") else { Issue.record("parse"); return }
        #expect(!a.keepAlive)
        #expect(b.keepAlive)
        #expect(!c.keepAlive)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let name: String, raw: String, status: Int
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "CL and TE together", raw: "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400),
        Bad(name: "chunked only", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", status: 411),
        Bad(name: "conflicting lengths", raw: "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", status: 400),
        Bad(name: "signed length", raw: "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", status: 400),
        Bad(name: "body too large", raw: "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", status: 413),
        Bad(name: "bare LF", raw: "GET / HTTP/1.1\nHost: a\r\n\r\n", status: 400),
        Bad(name: "obs-fold", raw: "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", status: 400),
        Bad(name: "space before colon", raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400),
        Bad(name: "no colon", raw: "GET / HTTP/1.1\r\nHost\r\n\r\n", status: 400),
        Bad(name: "bad version", raw: "GET / HTTP/2.0\r\n\r\n", status: 505),
        Bad(name: "garbage version", raw: "GET / FOO\r\n\r\n", status: 400),
        Bad(name: "two-part request line", raw: "GET /\r\n\r\n", status: 400),
        Bad(name: "four-part request line", raw: "GET / HTTP/1.1 x\r\n\r\n", status: 400),
        Bad(name: "double space in request line", raw: "GET  / HTTP/1.1\r\n\r\n", status: 400),
        Bad(name: "empty method", raw: " / HTTP/1.1\r\n\r\n", status: 400),
        Bad(name: "trailing space after version", raw: "GET / HTTP/1.1 \r\n\r\n", status: 400),
        Bad(name: "version prefix only", raw: "GET / HTTP/1.10\r\n\r\n", status: 505),
        Bad(name: "stray CR in request line", raw: "GET /\r HTTP/1.1\r\n\r\n", status: 400),
        Bad(name: "bare LF in a later header", raw: "GET / HTTP/1.1\r\nA: b\r\nC: d\nE: f\r\n\r\n", status: 400),
        Bad(name: "too many headers", raw: "GET / HTTP/1.1\r\n" + (0..<11).map { "h\($0): x\r\n" }.joined() + "\r\n", status: 431),
        Bad(name: "control char in value", raw: "GET / HTTP/1.1\r\nA: b\u{01}\r\n\r\n", status: 400),
        Bad(name: "two Host lines", raw: "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nhost: evil.example\r\n\r\n", status: 400),
    ]

    @Test(arguments: bad)
    func rejects(_ c: Bad) {
        #expect(throws: HTTPParseError.self) { try parse(c.raw) }
        do { _ = try parse(c.raw) } catch { #expect(error.status == c.status) }
    }

    @Test func exactlyTheHeaderLimitAndNoHeadersAtAll() throws {
        guard case .complete(let r, _) = try parse("GET / HTTP/1.1\r\n" + (0..<10).map { "h\($0): x\r\n" }.joined() + "\r\n"),
              case .complete(let bare, _) = try parse("GET /p HTTP/1.0\r\n\r\n") else { Issue.record("parse"); return }
        #expect(r.headers.count == 10 && r.header("h9") == "x")
        #expect(bare.headers.isEmpty && bare.path == "/p" && bare.versionMinor == 0)
    }

    /// A hand-over wraps a maximal delivery in base64: its path has its own limit, decided from the
    /// head (query ignored), and every other path keeps the delivery limit.
    @Test func aPathWithALargerBodyLimitTakesMoreAndOnlyIt() throws {
        var limits = HTTPLimits(maxHeaderBytes: 1024, maxHeaderCount: 10, maxBodyBytes: 100)
        limits.largerBodies["/hookhost/handover"] = 200
        let p = HTTPParser(limits: limits)
        #expect(limits.largestBody == 200)
        func status(_ target: String, _ n: Int) -> Int {
            do {
                guard case .complete = try p.parse(Array("POST \(target) HTTP/1.1\r\nContent-Length: \(n)\r\n\r\n".utf8) + [UInt8](repeating: 0x61, count: n)) else { return 0 }
                return 200
            } catch { return error.status }
        }
        #expect(status("/hookhost/handover", 200) == 200 && status("/hookhost/handover?a=1", 200) == 200)
        #expect(status("/hookhost/handover", 201) == 413)
        #expect(status("/webhooks", 100) == 200 && status("/webhooks", 101) == 413)
        #expect(status("/hookhost/handover/x", 101) == 413 && status("/hookhost", 101) == 413)
    }

    @Test func headerBlockTooLarge() {
        do { _ = try parse("GET / HTTP/1.1\r\nA: " + String(repeating: "x", count: 2000)); Issue.record("no error") } catch { #expect(error.status == 431) }
    }

    @Test func garbageRejectedBeforeHeaderEnd() {
        do { _ = try parser.parse([0x16, 0x03, 0x01, 0x00]); Issue.record("no error") } catch { #expect(error.status == 400) }
    }

    @Test func responseEncoding() {
        let r = HTTPResponse.json(202, Array(#"{"a":1}"#.utf8))
        #expect(String(decoding: r.encode(keepAlive: true), as: UTF8.self) == "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\":1}\n")
        #expect(String(decoding: r.encode(keepAlive: false), as: UTF8.self).contains("Connection: close\r\n"))
    }

    @Test func absoluteFormTargetsGiveTheirPath() {
        #expect(HTTPRequest(method: "GET", target: "http://127.0.0.1/healthz").path == "/healthz")
        #expect(HTTPRequest(method: "GET", target: "HTTP://h:8080/webhooks?x=1").path == "/webhooks")
        #expect(HTTPRequest(method: "GET", target: "http://h").path == "/")
        #expect(HTTPRequest(method: "GET", target: "/a?b").path == "/a")
        #expect(HTTPRequest(method: "GET", target: "/http://x").path == "/http://x")
    }
}
