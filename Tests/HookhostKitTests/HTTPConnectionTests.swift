import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The connection state machine from literals: bytes and events in, actions out, no sockets.
@Suite struct HTTPConnectionTests {
    static let settings = HTTPConnection.Settings(parser: HTTPParser(limits: HTTPLimits(maxHeaderBytes: 1024, maxHeaderCount: 10, maxBodyBytes: 100)),
                                                  readTimeout: 10, idleTimeout: 60)

    /// A compact, comparable rendering of actions.
    static func describe(_ actions: [HTTPConnection.Action]) -> [String] {
        actions.map {
            switch $0 {
            case .send(let b):
                let text = String(decoding: b, as: UTF8.self)
                return "send " + String(text.prefix(while: { $0 != "\r\n" }))  // "\r\n" is one Character
            case .dispatch(let r): return "dispatch \(r.method) \(r.target)"
            case .refused(let e): return "refused \(e.status)"
            case .timedOut(let n): return "timedOut \(n)"
            case .shutdownWrite: return "shutdownWrite"
            case .close: return "close"
            }
        }
    }

    struct Harness {
        var c = HTTPConnection(settings: HTTPConnectionTests.settings, now: 0)
        var now = 0.0

        mutating func feed(_ s: String, eof: Bool = false) -> [String] {
            var out = HTTPConnectionTests.describe(c.on(.bytes(ArraySlice(s.utf8)), at: now))
            out += HTTPConnectionTests.describe(c.on(.readsDone(endOfInput: eof), at: now))
            return out
        }
        mutating func on(_ e: HTTPConnection.Event) -> [String] { HTTPConnectionTests.describe(c.on(e, at: now)) }
        mutating func answer(_ status: Int = 202, close: Bool = false) -> [String] {
            on(.response(HTTPResponse(status: status, close: close)))
        }
    }

    static let get = "GET /a HTTP/1.1\r\n\r\n"

    @Test func oneRequestKeepAlive() {
        var h = Harness()
        #expect(h.feed(Self.get) == ["dispatch GET /a"])
        #expect(h.c.owesAnswer && !h.c.isIdle)
        #expect(h.answer() == ["send HTTP/1.1 202 Accepted"])
        #expect(h.on(.flushed) == [])
        #expect(h.c.isIdle)
        #expect(h.c.phase == .reading(startedAt: nil, continueSent: false))
    }

    @Test func pipelinedRequestsAreAnsweredOneAtATimeInOrder() {
        var h = Harness()
        #expect(h.feed("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n") == ["dispatch GET /1"])
        #expect(h.answer() == ["send HTTP/1.1 202 Accepted"])
        #expect(h.on(.flushed) == ["dispatch GET /2"])
        #expect(h.answer() == ["send HTTP/1.1 202 Accepted"])
        #expect(h.on(.flushed) == ["dispatch GET /3"])
        #expect(h.answer() == ["send HTTP/1.1 202 Accepted"])
        #expect(h.on(.flushed) == [])
        #expect(h.c.buffer.isEmpty)
    }

    @Test func halfCloseAnswersEveryPipelinedRequestThenCloses() {
        var h = Harness()
        #expect(h.feed("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", eof: true) == ["dispatch GET /1"])
        #expect(!h.c.wantsInput)
        let first = h.c.on(.response(HTTPResponse(status: 200)), at: 0)
        // More is buffered, so the first answer keeps the connection alive.
        guard case .send(let bytes) = first.first else { Issue.record("no send"); return }
        #expect(!String(decoding: bytes, as: UTF8.self).contains("Connection: close"))
        #expect(h.on(.flushed) == ["dispatch GET /2"])
        let last = h.c.on(.response(HTTPResponse(status: 200)), at: 0)
        guard case .send(let bytes2) = last.first else { Issue.record("no send"); return }
        #expect(String(decoding: bytes2, as: UTF8.self).contains("Connection: close"))
        #expect(h.on(.flushed) == ["close"])
    }

    @Test func halfCloseWithAPartialRequestCloses() {
        var h = Harness()
        #expect(h.feed("GET /1 HTTP/1.1\r\nHo", eof: true) == ["close"])
    }

    @Test func malformedRequestIsRefusedThenLingers() {
        var h = Harness()
        #expect(h.feed("BAD\r\n\r\n") == ["refused 400", "send HTTP/1.1 400 Bad Request"])
        #expect(h.on(.flushed) == ["shutdownWrite"])
        #expect(h.c.isLingering && h.c.wantsInput)
        #expect(h.feed("whatever the client still sends") == [])
        #expect(h.c.buffer.isEmpty)
        h.now = 2.5
        #expect(h.on(.tick) == ["close"])
    }

    @Test func lingeringEndsAtEndOfInputOrPastTheDiscardLimit() {
        var h = Harness()
        _ = h.feed("BAD\r\n\r\n")
        _ = h.on(.flushed)
        #expect(h.on(.readsDone(endOfInput: true)) == ["close"])
        var g = Harness()
        _ = g.feed("BAD\r\n\r\n")
        _ = g.on(.flushed)
        let chunk = ArraySlice([UInt8](repeating: 65, count: 1 << 20))
        for _ in 0..<4 { #expect(g.on(.bytes(chunk)) == []) }
        #expect(g.on(.bytes(chunk)) == ["close"])
    }

    @Test func connectionCloseAnswerLingersUnlessTheClientAlreadyHalfClosed() {
        var h = Harness()
        _ = h.feed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        _ = h.answer()
        #expect(h.on(.flushed) == ["shutdownWrite"])
        var g = Harness()
        _ = g.feed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", eof: true)
        _ = g.answer()
        #expect(g.on(.flushed) == ["close"])
    }

    @Test func endOfInputWhileWritingClosesInsteadOfLingering() {
        var h = Harness()
        _ = h.feed(Self.get)
        _ = h.answer(close: true)
        #expect(h.on(.readsDone(endOfInput: true)) == [])
        #expect(h.on(.flushed) == ["close"])
    }

    @Test func expectContinueIsSentOncePerRequest() {
        var h = Harness()
        let head = "POST /w HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        #expect(h.feed(head) == ["send HTTP/1.1 100 Continue"])
        #expect(h.on(.flushed) == [])  // an interim answer changes nothing
        #expect(h.feed("ab") == [])
        #expect(h.feed("cd") == ["dispatch POST /w"])
        _ = h.answer()
        _ = h.on(.flushed)
        #expect(h.feed(head) == ["send HTTP/1.1 100 Continue"])
    }

    @Test func firstRequestMustStartWithinTheReadTimeout() {
        var h = Harness()
        h.now = 9
        #expect(h.on(.tick) == [])
        h.now = 10.5
        #expect(h.on(.tick) == ["close"])
    }

    @Test func idleKeepAliveConnectionClosesAfterTheIdleTimeout() {
        var h = Harness()
        _ = h.feed(Self.get)
        _ = h.answer()
        _ = h.on(.flushed)
        h.now = 30
        #expect(h.on(.tick) == [])
        h.now = 61
        #expect(h.on(.tick) == ["close"])
    }

    @Test func slowRequestGets408() {
        var h = Harness()
        h.now = 1
        #expect(h.feed("POST /w HTTP/1.1\r\nContent-Length: 50\r\n\r\nab") == [])
        h.now = 11.5
        #expect(h.on(.tick) == ["timedOut 42", "send HTTP/1.1 408 Request Timeout"])
        #expect(h.c.buffer.isEmpty)
        #expect(h.on(.flushed) == ["shutdownWrite"])
    }

    @Test func awaitingOwnAnswerNeverTimesOut() {
        var h = Harness()
        _ = h.feed(Self.get)
        h.now = 1000
        #expect(h.on(.tick) == [])
        #expect(h.c.owesAnswer)
    }

    @Test func aClientThatDoesNotReadItsAnswerIsClosed() {
        var h = Harness()
        _ = h.feed(Self.get)
        _ = h.answer()
        h.now = 5
        #expect(h.on(.wroteSome) == [])
        h.now = 14
        #expect(h.on(.tick) == [])
        h.now = 16
        #expect(h.on(.tick) == ["close"])
    }

    @Test func overBudgetRefusesAPartialRequestWith503() {
        var h = Harness()
        _ = h.feed("POST /w HTTP/1.1\r\nContent-Length: 90\r\n\r\nabc")
        #expect(h.on(.overBudget) == ["send HTTP/1.1 503 Service Unavailable"])
        #expect(h.c.buffer.isEmpty)
        #expect(h.on(.flushed) == ["shutdownWrite"])
    }

    @Test func overBudgetWhileAnsweringDropsThePipelinedRestAndTheKeepAlive() {
        var h = Harness()
        #expect(h.feed(Self.get + "POST /w HTTP/1.1\r\nContent-Length: 90\r\n\r\nabc") == ["dispatch GET /a"])
        #expect(h.on(.overBudget) == [])
        #expect(h.c.buffer.isEmpty)
        let actions = h.c.on(.response(HTTPResponse(status: 200)), at: 0)
        guard case .send(let bytes) = actions.first else { Issue.record("no send"); return }
        #expect(String(decoding: bytes, as: UTF8.self).contains("Connection: close"))
    }

    @Test func inputStopsWhileAnsweringOnceMoreThanAnyRequestIsBuffered() {
        var h = Harness()
        _ = h.feed(Self.get)
        #expect(h.c.wantsInput)  // a client may send on; no epoll change per request
        _ = h.on(.bytes(ArraySlice([UInt8](repeating: 65, count: h.c.bufferCap + 1))))
        #expect(!h.c.wantsInput)
    }

    @Test func headAnswerHasNoBody() {
        var h = Harness()
        _ = h.feed("HEAD /x HTTP/1.1\r\n\r\n")
        let actions = h.c.on(.response(.json(200, Array("{\"a\":1}".utf8))), at: 0)
        guard case .send(let bytes) = actions.first else { Issue.record("no send"); return }
        #expect(!String(decoding: bytes, as: UTF8.self).hasSuffix("{\"a\":1}"))
    }

    @Test func http10WithoutKeepAliveCloses() {
        var h = Harness()
        _ = h.feed("GET / HTTP/1.0\r\n\r\n")
        _ = h.answer()
        #expect(h.on(.flushed) == ["shutdownWrite"])
    }

    @Test func nothingHappensAfterClose() {
        var h = Harness()
        _ = h.feed("x", eof: true)
        #expect(h.c.isClosed)
        #expect(h.feed(Self.get) == [])
        #expect(h.on(.tick) == [])
    }
}
