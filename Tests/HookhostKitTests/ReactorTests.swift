import Glibc
import Synchronization
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

/// A transport whose bytes the test scripts. epoll needs a real descriptor, so readiness comes
/// from one end of a socketpair (`fd`, what the reactor registers) whose other end (`peer`) the
/// test holds: a byte written to `peer` makes the connection readable, and `fd` is made
/// unwritable by filling it and writable again by draining `peer`. The bytes themselves never
/// touch a socket: reads come from `reads`, writes are kept in `written`.
final class ScriptedTransport: Transport, Sendable {
    enum Read {
        case bytes([UInt8])
        case wouldBlock
        /// As a TLS read that must first send (a handshake, a renegotiation): blocked until writable.
        case wouldBlockUntilWritable
        case endOfInput
        case failed
    }

    enum Write {
        /// Takes at most this many bytes (at least 1).
        case upTo(Int)
        /// Blocks, and fills the socket so epoll reports it writable only after `makeWritable()`.
        case wouldBlock
        case failed
    }

    struct State {
        var reads: [Read] = []
        /// Consumed one per write call; once empty every write takes everything.
        var writes: [Write] = []
        var written: [UInt8] = []
        var writeCalls = 0
        var blockedOnWrite = false
        var wantsWritable = false
        var shutDown = false
        var closed = false
        var peerOpen = true
    }

    let fd: Int32
    /// The test's end of the socketpair.
    let peer: Int32
    /// The socket the reactor accepted: closed with the transport.
    let accepted: Int32
    let shortReadDrains: Bool
    /// Reports the scripted bytes as already decoded (TLS records), so epoll will not announce them.
    let buffersInput: Bool
    let state = Mutex(State())

    init(fd: Int32, peer: Int32, accepted: Int32, shortReadDrains: Bool, buffersInput: Bool) {
        self.fd = fd
        self.peer = peer
        self.accepted = accepted
        self.shortReadDrains = shortReadDrains
        self.buffersInput = buffersInput
    }

    deinit { if state.withLock({ $0.peerOpen }) { Glibc.close(peer) } }

    // MARK: Transport (on the reactor's thread)

    func read(into buffer: inout [UInt8]) -> TransportResult {
        state.withLock { s -> TransportResult in
            s.wantsWritable = false
            guard !s.reads.isEmpty else { drainReadiness(); return .wouldBlock }
            switch s.reads.removeFirst() {
            case .bytes(let b):
                let n = min(b.count, buffer.count)
                buffer.replaceSubrange(0..<n, with: b[0..<n])
                if n < b.count { s.reads.insert(.bytes(Array(b[n...])), at: 0) }
                return .done(n)
            case .wouldBlock:
                drainReadiness()
                return .wouldBlock
            case .wouldBlockUntilWritable:
                drainReadiness()
                s.wantsWritable = true
                return .wouldBlock
            case .endOfInput:
                return .endOfInput
            case .failed:
                return .failed(reason: "scripted read failure")
            }
        }
    }

    func write(_ bytes: [UInt8], from offset: Int) -> TransportResult {
        state.withLock { s -> TransportResult in
            s.writeCalls += 1
            let step: Write = s.writes.isEmpty ? .upTo(Int.max) : s.writes.removeFirst()
            switch step {
            case .upTo(let limit):
                let n = min(limit, bytes.count - offset)
                s.written += bytes[offset..<(offset + n)]
                return .done(n)
            case .wouldBlock:
                fillSendBuffer()
                s.blockedOnWrite = true
                return .wouldBlock
            case .failed:
                return .failed(reason: "scripted write failure")
            }
        }
    }

    var wantsWritable: Bool { state.withLock { $0.wantsWritable } }

    var hasBufferedInput: Bool {
        state.withLock { s in
            guard buffersInput, case .bytes? = s.reads.first else { return false }
            return true
        }
    }

    func shutdownWrite() { state.withLock { $0.shutDown = true } }

    func close() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            Glibc.close(fd)
            Glibc.close(accepted)
        }
    }

    // MARK: the test's side

    /// Queues reads and makes the connection readable.
    func feed(_ reads: Read...) {
        state.withLock { $0.reads += reads }
        var one: UInt8 = 1
        _ = Glibc.write(peer, &one, 1)
    }

    /// Makes `fd` writable again after a `.wouldBlock` write.
    func makeWritable() {
        var sink = [UInt8](repeating: 0, count: 64 * 1024)
        for _ in 0..<1000 { if Glibc.read(peer, &sink, sink.count) <= 0 { break } }
        state.withLock { $0.blockedOnWrite = false }
    }

    /// Closes the test's end: the reactor sees a full hang-up.
    func hangUp() {
        state.withLock { s in
            guard s.peerOpen else { return }
            s.peerOpen = false
            Glibc.close(peer)
        }
    }

    var written: [UInt8] { state.withLock { $0.written } }
    var writeCalls: Int { state.withLock { $0.writeCalls } }
    var isClosed: Bool { state.withLock { $0.closed } }
    var isShutDown: Bool { state.withLock { $0.shutDown } }
    var isBlockedOnWrite: Bool { state.withLock { $0.blockedOnWrite } }
    var readsLeft: Int { state.withLock { $0.reads.count } }

    /// Takes the readiness bytes, so level-triggered epoll stops reporting input.
    private func drainReadiness() {
        var sink = [UInt8](repeating: 0, count: 256)
        for _ in 0..<1000 { if Glibc.read(fd, &sink, sink.count) <= 0 { break } }
    }

    private func fillSendBuffer() {
        let chunk = [UInt8](repeating: 0, count: 64 * 1024)
        for _ in 0..<1000 { if Glibc.write(fd, chunk, chunk.count) <= 0 { break } }
    }
}

/// Makes a `ScriptedTransport` for each accepted socket and keeps them for the test.
final class ScriptedTransports: TransportFactory {
    let shortReadDrains: Bool
    let buffersInput: Bool
    let refuseAll: Bool
    private let made = Mutex<[ScriptedTransport]>([])

    init(shortReadDrains: Bool, buffersInput: Bool, refuseAll: Bool) {
        self.shortReadDrains = shortReadDrains
        self.buffersInput = buffersInput
        self.refuseAll = refuseAll
    }

    func make(fd: Int32) -> (any Transport)? {
        if refuseAll { return nil }
        var pair: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &pair) == 0 else { return nil }
        let t = ScriptedTransport(fd: pair[0], peer: pair[1], accepted: fd, shortReadDrains: shortReadDrains, buffersInput: buffersInput)
        made.withLock { $0.append(t) }
        return t
    }

    var count: Int { made.withLock { $0.count } }
    subscript(i: Int) -> ScriptedTransport { made.withLock { $0[i] } }
}

/// Answers `202` with the request's target as the body (so the order of answers shows), at once
/// on the loop's thread, or — `deferred` — when the test calls `answerNext()` from its own.
final class EchoResponder: HTTPResponder {
    let deferred: Bool
    private let state = Mutex<(requests: [HTTPRequest], pending: [@Sendable (HTTPResponse) -> Void])>(([], []))

    init(deferred: Bool) { self.deferred = deferred }

    static func answer(_ target: String) -> HTTPResponse { .text(202, target) }

    func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
        state.withLock { s in
            s.requests.append(request)
            if deferred { s.pending.append(respond) }
        }
        if !deferred { respond(Self.answer(request.target)) }
    }

    /// Answers the oldest request not answered yet.
    func answerNext() {
        let next = state.withLock { s -> (String, @Sendable (HTTPResponse) -> Void)? in
            guard !s.pending.isEmpty else { return nil }
            let answered = s.requests.count - s.pending.count
            return (s.requests[answered].target, s.pending.removeFirst())
        }
        if let next { next.1(Self.answer(next.0)) }
    }

    var requests: [HTTPRequest] { state.withLock { $0.requests } }
}

/// A real `Reactor` on its own thread, listening on 127.0.0.1, with scripted transports.
final class ReactorHarness {
    let transports: ScriptedTransports
    let responder: EchoResponder
    let reactor: Reactor
    private let listener: Int32
    private let port: UInt16
    private let thread: ThreadHandle
    private var clients: [Int32] = []

    init(_ configure: (inout HTTPServerConfig) -> Void = { _ in }, deferred: Bool = false, shortReadDrains: Bool = true,
         buffersInput: Bool = false, refuseAll: Bool = false) throws {
        var config = HTTPServerConfig()
        configure(&config)
        (listener, port) = try Listener.open(.inet(host: "127.0.0.1", port: 0))
        transports = ScriptedTransports(shortReadDrains: shortReadDrains, buffersInput: buffersInput, refuseAll: refuseAll)
        responder = EchoResponder(deferred: deferred)
        reactor = try Reactor(index: 0, listeners: [listener], config: config, transports: transports, responder: responder, logger: quietLogger)
        thread = startThread(name: "reactor-test") { [reactor] in reactor.run() }
    }

    /// Connects a client to the reactor's listener.
    func connectClient() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { Issue.record("connect to the test listener failed: errno \(errno)") }
        clients.append(fd)
        return fd
    }

    /// Connects a client; the transport the reactor made for it (nil: none within 5 s).
    func connect() -> ScriptedTransport? {
        let before = transports.count
        _ = connectClient()
        guard eventually(500, { transports.count > before }) else { return nil }
        return transports[before]
    }

    /// Stops the loop; whether its thread ended within 10 s.
    @discardableResult func stop() -> Bool {
        reactor.stop()
        return thread.join(until: monotonicNow() + 10)
    }

    deinit {
        if !stop() { Issue.record("the reactor thread did not end") }
        Glibc.close(listener)
        for c in clients { Glibc.close(c) }
    }
}

/// The reactor between a `Transport` and the HTTP state machine: what reaches the transport for
/// the reads, write results, readiness and failures it reports.
@Suite struct ReactorTests {
    static func request(_ target: String, body: String = "") -> [UInt8] {
        Array("POST \(target) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    static func answer(_ target: String, keepAlive: Bool = true) -> [UInt8] {
        EchoResponder.answer(target).encode(keepAlive: keepAlive)
    }

    @Test func aRequestSplitAcrossReadsGetsOneAnswer() throws {
        let h = try ReactorHarness()
        let t = try #require(h.connect())
        let whole = Self.request("/split", body: "hello")
        t.feed(.bytes(Array(whole[..<20])))
        #expect(eventually { t.readsLeft == 0 })
        t.feed(.bytes(Array(whole[20..<(whole.count - 2)])))
        #expect(eventually { t.readsLeft == 0 })
        #expect(h.responder.requests.isEmpty)
        t.feed(.bytes(Array(whole[(whole.count - 2)...])))
        #expect(eventually { t.written == Self.answer("/split") })
        #expect(h.responder.requests.map { String(decoding: $0.body, as: UTF8.self) } == ["hello"])
        #expect(!t.isClosed)
    }

    @Test func pipelinedRequestsAreDispatchedOneAtATimeAndAnsweredInOrder() throws {
        let h = try ReactorHarness(deferred: true)
        let t = try #require(h.connect())
        t.feed(.bytes(Self.request("/a") + Self.request("/b") + Self.request("/c")))
        for n in 1...3 {
            #expect(eventually { h.responder.requests.count == n })
            #expect(h.responder.requests.count == n, "request \(n + 1) dispatched before \(n) was answered")
            h.responder.answerNext()  // from this thread: through the loop's mailbox
        }
        #expect(eventually { t.written == Self.answer("/a") + Self.answer("/b") + Self.answer("/c") })
        #expect(h.responder.requests.map(\.target) == ["/a", "/b", "/c"])
    }

    @Test func aPartialWriteIsResumedWhenTheSocketIsWritableAgain() throws {
        let h = try ReactorHarness()
        let t = try #require(h.connect())
        t.state.withLock { $0.writes = [.upTo(10), .wouldBlock] }
        t.feed(.bytes(Self.request("/big", body: String(repeating: "x", count: 100))))
        #expect(eventually { t.isBlockedOnWrite })
        usleep(100_000)  // room for a wrong loop to retry the write without waiting for EPOLLOUT
        #expect(t.writeCalls == 2)
        #expect(t.written == Array(Self.answer("/big")[..<10]))
        t.makeWritable()
        #expect(eventually { t.written == Self.answer("/big") })
        #expect(t.writeCalls == 3)
        // Still keep-alive: the next request on the connection is served.
        t.feed(.bytes(Self.request("/next")))
        #expect(eventually { t.written == Self.answer("/big") + Self.answer("/next") })
    }

    @Test func aPeerThatHalfClosesWithoutARequestIsClosedUnanswered() throws {
        let h = try ReactorHarness()
        let t = try #require(h.connect())
        t.feed(.endOfInput)
        #expect(eventually { t.isClosed })
        #expect(t.written.isEmpty)
        #expect(h.responder.requests.isEmpty)
    }

    @Test func aPartRequestThenEndOfInputIsClosedUnanswered() throws {
        let h = try ReactorHarness()
        let t = try #require(h.connect())
        t.feed(.bytes(Array("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc".utf8)), .endOfInput)
        #expect(eventually { t.isClosed })
        #expect(t.written.isEmpty)
        #expect(h.responder.requests.isEmpty)
    }

    @Test func aRequestAndEndOfInputInOneBatchAreAnsweredThenClosed() throws {
        // TLS-like: reads go on after a short one, so the end of input is seen with the request.
        let h = try ReactorHarness(shortReadDrains: false)
        let t = try #require(h.connect())
        t.feed(.bytes(Self.request("/last")), .endOfInput)
        #expect(eventually { t.isClosed })
        #expect(t.written == Self.answer("/last", keepAlive: false))
    }

    @Test func aReadFailureClosesTheConnectionWithoutAnAnswer() throws {
        let h = try ReactorHarness(shortReadDrains: false)
        let t = try #require(h.connect())
        t.feed(.bytes(Array("POST /x HTTP/1.1\r\n".utf8)), .failed)
        #expect(eventually { t.isClosed })
        #expect(t.written.isEmpty)
        #expect(h.responder.requests.isEmpty)
    }

    @Test func aWriteFailureClosesTheConnection() throws {
        let h = try ReactorHarness()
        let t = try #require(h.connect())
        t.state.withLock { $0.writes = [.failed] }
        t.feed(.bytes(Self.request("/a")))
        #expect(eventually { t.isClosed })
        #expect(t.written.isEmpty)
        #expect(t.writeCalls == 1)
    }

    @Test func aPeerThatHangsUpWhileItsAnswerIsOwedIsClosedAndTheLateAnswerDropped() throws {
        let h = try ReactorHarness(deferred: true, shortReadDrains: false)
        let t = try #require(h.connect())
        t.feed(.bytes(Self.request("/gone")), .endOfInput)
        #expect(eventually { h.responder.requests.count == 1 })
        t.hangUp()
        #expect(eventually { t.isClosed })
        h.responder.answerNext()
        // The answer goes through the mailbox to a connection that is no more: nothing is written.
        #expect(h.stop())
        #expect(t.written.isEmpty)
    }

    @Test func inputTheTransportHoldsDecodedIsReadWithoutWaitingForEpoll() throws {
        // TLS decodes whole records: the second request sits in the transport, not the socket.
        let h = try ReactorHarness(shortReadDrains: false, buffersInput: true)
        let t = try #require(h.connect())
        t.feed(.bytes(Self.request("/1")), .wouldBlock, .bytes(Self.request("/2")))
        #expect(eventually { t.written == Self.answer("/1") + Self.answer("/2") })
    }

    @Test func aReadBlockedUntilWritableGoesOnWhenTheSocketIsWritable() throws {
        // A TLS read that has to send first (a handshake): the reactor watches EPOLLOUT for it.
        let h = try ReactorHarness(shortReadDrains: false)
        let t = try #require(h.connect())
        t.feed(.wouldBlockUntilWritable, .bytes(Self.request("/tls")))
        #expect(eventually { t.written == Self.answer("/tls") })
    }

    @Test func aRequestNotFinishedWithinTheReadTimeoutIsAnswered408() throws {
        let h = try ReactorHarness { $0.readTimeout = 0.2 }
        let t = try #require(h.connect())
        t.feed(.bytes(Array("POST /slow HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc".utf8)))
        #expect(eventually(1000) { t.isShutDown })  // answered, then our side shut to linger
        #expect(String(decoding: t.written, as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
        #expect(h.responder.requests.isEmpty)
    }

    @Test func aConnectionThatNeverStartsARequestIsClosedAfterTheReadTimeout() throws {
        let h = try ReactorHarness { $0.readTimeout = 0.2 }
        let t = try #require(h.connect())
        #expect(eventually(1000) { t.isClosed })
        #expect(t.written.isEmpty)
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        let h = try ReactorHarness { $0.idleTimeout = 0.2 }
        let t = try #require(h.connect())
        t.feed(.bytes(Self.request("/once")))
        #expect(eventually { t.written == Self.answer("/once") })
        #expect(eventually(1000) { t.isClosed })
    }

    @Test func overTheLoopsByteBudgetThePendingRequestIsRefused503() throws {
        let h = try ReactorHarness { $0.maxBufferedBytesPerLoop = 64 }
        let t = try #require(h.connect())
        t.feed(.bytes(Array(("POST /big HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "x", count: 100)).utf8)))
        #expect(eventually { t.isShutDown })
        #expect(String(decoding: t.written, as: UTF8.self).hasPrefix("HTTP/1.1 503 "))
        #expect(h.responder.requests.isEmpty)
    }

    @Test func atTheConnectionCapTheIdlestConnectionMakesRoom() throws {
        let h = try ReactorHarness { $0.maxConnectionsPerLoop = 1 }
        let first = try #require(h.connect())
        let second = try #require(h.connect())
        #expect(eventually { first.isClosed })
        second.feed(.bytes(Self.request("/new")))
        #expect(eventually { second.written == Self.answer("/new") })
    }

    @Test func aConnectionTheFactoryRefusesIsClosed() throws {
        let h = try ReactorHarness(refuseAll: true)
        let client = h.connectClient()
        var p = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 10_000) == 1)
        var b: UInt8 = 0
        #expect(recv(client, &b, 1, 0) == 0)  // end of stream: the reactor closed its side
    }

    @Test func stoppingWaitsForAnOwedAnswerAndWritesIt() throws {
        let h = try ReactorHarness(deferred: true)
        let t = try #require(h.connect())
        t.feed(.bytes(Self.request("/owed")))
        #expect(eventually { h.responder.requests.count == 1 })
        h.reactor.stop()
        h.responder.answerNext()
        #expect(h.stop())
        #expect(t.written == Self.answer("/owed"))
        #expect(t.isClosed)
    }

    @Test func stoppingGivesUpOnAnAnswerNotGivenWithinTheStopTimeout() throws {
        let h = try ReactorHarness({ $0.stopTimeout = 0.2 }, deferred: true)
        let t = try #require(h.connect())
        t.feed(.bytes(Self.request("/never")))
        #expect(eventually { h.responder.requests.count == 1 })
        #expect(h.stop())
        #expect(t.isClosed)
        h.responder.answerNext()  // after the loop ended: dropped, no crash
        #expect(t.written.isEmpty)
    }
}
