import Glibc
import Synchronization
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookFetch
@testable import HookhostKit

/// The Reconciler and the API client's paging against an in-process server that misbehaves.
@Suite struct ReconcilerTests {
    /// Answers each request with `page(target)` and counts them.
    final class Scripted: HTTPResponder {
        let asked = Mutex(0)
        let page: @Sendable (String) -> String
        init(_ page: @escaping @Sendable (String) -> String) { self.page = page }
        func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
            asked.withLock { $0 += 1 }
            respond(.json(200, Array(page(request.target).utf8)))
        }
    }

    func withServer(_ responder: Scripted, _ body: (GeminiAPI) throws -> Void) throws {
        let (listener, port) = try Listener.open(.inet(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        var config = HTTPServerConfig()
        config.limits.maxBodyBytes = 1 << 20
        let server = try HTTPServer(listeners: [listener], loops: 1, config: config, responder: responder, logger: quietLogger)
        server.start()
        defer { server.stop(); server.join() }
        try body(try GeminiAPI(base: FetchURL("http://127.0.0.1:\(port)")!, version: "v1", apiKey: "the-key"))
    }

    static func batch(_ name: String, end: String = "2026-05-04T12:00:00Z") -> String {
        #"{"name":"\#(name)","done":true,"metadata":{"state":"BATCH_STATE_SUCCEEDED","endTime":"\#(end)"}}"#
    }

    @Test func aBatchListedAgainOnALaterPageCountsOnce() throws {
        let server = Scripted { target in
            target.contains("pageToken=p2")
                ? #"{"operations":[\#(Self.batch("batches/a")),\#(Self.batch("batches/b"))]}"#
                : #"{"operations":[\#(Self.batch("batches/a"))],"nextPageToken":"p2"}"#
        }
        try withServer(server) { api in
            let now = ReconcileEvent.parseTime("2026-05-04T13:00:00Z")!
            let (listed, due) = try Reconciler(api: api).batches(now: now, window: 48 * 3600)
            #expect(listed == 2)
            #expect(due.map(\.job) == ["batches/a", "batches/b"])
        }
    }

    @Test func aListingStopsAtItsByteBudgetAndAtItsPageCount() throws {
        let pad = String(repeating: "x", count: 100_000)
        let server = Scripted { target in #"{"webhooks":[],"pad":"\#(pad)","next_page_token":"t\#(target.count)\#(UInt64.random(in: 0...UInt64.max))"}"# }
        try withServer(server) { api in
            #expect { try api.forEachPage("webhooks", style: .snake, limits: .init(maxPages: 1000, maxTotalBytes: 450_000)) { _ in } } throws: { error in
                guard case .paging(_, let reason)? = error as? GeminiAPIError else { return false }
                return reason.contains("more than 450000 bytes of answers in 5 pages")
            }
            #expect(server.asked.withLock { $0 } == 5)
            #expect(throws: GeminiAPIError.paging(path: "/v1/webhooks", reason: "more than 3 pages")) {
                try api.forEachPage("webhooks", style: .snake, limits: .init(maxPages: 3)) { _ in }
            }
        }
    }

    @Test func aCancelledClientAsksNothingMore() throws {
        let server = Scripted { _ in #"{"operations":[],"nextPageToken":"t\#(UInt64.random(in: 0...UInt64.max))"}"# }
        try withServer(server) { base in
            var api = base
            let calls = Mutex(0)
            // Cancelled once the third page has been asked for.
            api.isCancelled = { calls.withLock { $0 += 1; return $0 > 6 } }
            #expect { try Reconciler(api: api).batches(now: 0, window: 1) } throws: { error in
                if case .cancelled? = error as? GeminiAPIError { return true }
                return false
            }
            #expect(server.asked.withLock { $0 } < 10)
        }
    }

    @Test func theKeyIsReplacedInABodyBeforeAnythingIsCut() {
        let body = Array(("x" + "the-key" + "y the-key").utf8)
        #expect(String(decoding: GeminiAPI.redacting("the-key", in: body), as: UTF8.self) == "x[GEMINI_API_KEY]y [GEMINI_API_KEY]")
        #expect(GeminiAPI.redacting("the-key", in: Array("the-ke".utf8)) == Array("the-ke".utf8))
        #expect(GeminiAPI.redacting("k", in: []) == [])
    }
}
