import CSys
import Glibc
import Synchronization
import HookSupport
import HookNet

/// One epoll-driven thread that owns a set of connections: it accepts, reads and writes through
/// each connection's `Transport`, feeds the bytes to its `HTTPConnection` state machine and
/// executes the actions that come out, runs the timers (a sweep every 0.5 s) and takes answers
/// from other threads through `mailbox` + an eventfd. Its connection table is only touched on
/// its own thread.
final class Reactor: @unchecked Sendable {  // safe: mutable state is confined to the loop thread (see above); `mailbox` and `stopping` are synchronised
    // Fields without `private` are read by Reactor+Accept.swift, on the loop thread too.
    var epoll: Epoll
    private let listeners: [Int32]
    let config: HTTPServerConfig
    let settings: HTTPConnection.Settings
    let transports: any TransportFactory
    private let responder: any HTTPResponder
    let logger: Logger
    private let mailbox: LoopMailbox
    /// Spreads accepted connections over the loops. Set once by `HTTPServer` before any loop
    /// thread starts, never changed after: the threads only read it.
    var dealer: ConnectionDealer?
    let stopping = Atomic<Bool>(false)
    private var thread = pthread_t()
    var connections: [UInt64: Connection] = [:]
    /// Answers given synchronously on the loop thread, handled once the current event is done
    /// (never recursively: a long pipeline of instant answers must not grow the stack).
    private var localAnswers: [(UInt64, HTTPResponse)] = []
    var nextID: UInt64
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    private var lastSweep = monotonicNow()
    var acceptor = Acceptor()
    var emfileLog = RateLimitedLog(interval: 5)
    var refusals = RateLimitedLog(interval: 5)
    private var budgetLog = RateLimitedLog(interval: 5)
    /// Bytes in all connection buffers of this loop (see `maxBufferedBytesPerLoop`).
    private var buffered = 0

    private static let wakeTag: UInt64 = 0
    private static let listenerTagBase: UInt64 = 1

    /// Throws when the loop's own descriptors cannot be created (a tiny RLIMIT_NOFILE).
    init(index: Int, listeners: [Int32], config: HTTPServerConfig, transports: any TransportFactory,
         responder: any HTTPResponder, logger: Logger) throws(SystemError) {
        guard let epoll = Epoll() else { throw SystemError("epoll_create1", "event loop \(index)") }
        let wakeFD = hh_eventfd()
        guard wakeFD >= 0 else {
            let e = SystemError("eventfd", "event loop \(index)")
            epoll.close()
            throw e
        }
        self.epoll = epoll
        self.mailbox = LoopMailbox(wakeFD: wakeFD)
        self.listeners = listeners
        self.config = config
        self.settings = HTTPConnection.Settings(parser: HTTPParser(limits: config.limits),
                                                readTimeout: config.readTimeout, idleTimeout: config.idleTimeout)
        self.transports = transports
        self.responder = responder
        self.logger = logger
        // Connection ids carry the loop index in the top bits so they never collide across loops.
        self.nextID = UInt64(index) << 48 | 0x100
        epoll.add(mailbox.wakeFD, EpollFlags.input, tag: Reactor.wakeTag)
        for (i, fd) in listeners.enumerated() {
            epoll.add(fd, EpollFlags.input | EpollFlags.exclusive, tag: Reactor.listenerTagBase + UInt64(i))
        }
    }

    func run() {
        thread = pthread_self()
        var stopDeadline: Double?
        while true {
            if stopping.load(ordering: .relaxed) {
                if stopDeadline == nil {
                    // Stop accepting; requests already taken still get their answers.
                    stopDeadline = monotonicNow() + config.stopTimeout
                    for fd in listeners { epoll.remove(fd) }
                }
                if !connections.values.contains(where: { $0.http.owesAnswer }) || monotonicNow() >= stopDeadline! { break }
            }
            guard let ready = epoll.wait(timeoutMS: stopDeadline == nil ? 500 : 50) else {
                logger.error("epoll_wait failed", ["errno": .int(Int(errno))])
                break
            }
            for (tag, flags) in ready {
                if tag == Reactor.wakeTag {
                    drainMailbox()
                } else if tag < Reactor.listenerTagBase + UInt64(listeners.count) {
                    if stopDeadline == nil { acceptAll(listeners[Int(tag - Reactor.listenerTagBase)]) }
                } else if let conn = connections[tag] {
                    handle(conn, flags: flags)
                }
                answerLocally()
            }
            let now = monotonicNow()
            if now - lastSweep >= 0.5 { sweep(); lastSweep = now }
        }
        for c in Array(connections.values) { closeConnection(c) }
        // Connections handed over while this loop was stopping: nobody will serve them.
        mailbox.close()
    }

    /// Asks the loop to exit (from any thread); `run` returns once owed answers are written or
    /// `stopTimeout` passed.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        mailbox.wake()
    }

    // MARK: answers from the responder

    /// Delivers a response from any thread.
    private func deliver(_ id: UInt64, _ response: HTTPResponse) {
        if pthread_equal(pthread_self(), thread) != 0 {
            localAnswers.append((id, response))
            return
        }
        mailbox.post(.answer(id, response))
    }

    /// Runs `work` on the loop thread: now when already there, else through the mailbox.
    private func onLoop(_ work: @escaping @Sendable () -> Void) {
        if pthread_equal(pthread_self(), thread) != 0 { return work() }
        mailbox.post(.run(work))
    }

    /// Takes over a connection another loop accepted (from any thread).
    func adopt(_ fd: Int32) { mailbox.post(.adopt(fd)) }

    private func drainMailbox() {
        for mail in mailbox.take() {
            switch mail {
            case .answer(let id, let response): answer(id, response)
            case .run(let work): work()
            case .adopt(let fd): register(fd)
            }
        }
    }

    private func answerLocally() {
        while !localAnswers.isEmpty {
            let items = localAnswers
            localAnswers.removeAll(keepingCapacity: true)
            for (id, response) in items { answer(id, response) }
        }
    }

    private func answer(_ id: UInt64, _ response: HTTPResponse) {
        guard let c = connections[id] else { return }  // the client went away meanwhile
        run(c, .response(response))
        readBuffered(c)
    }

    // MARK: I/O

    private func handle(_ c: Connection, flags: UInt32) {
        if flags & EpollFlags.error != 0 { closeConnection(c); return }
        if flags & EpollFlags.output != 0 {
            if c.outOffset < c.out.count { flush(c) }
            // A TLS handshake (or record) that waited for the socket to take bytes goes on.
            else if c.transport.wantsWritable { readAvailable(c) }
        }
        guard c.isOpen else { return }
        if c.http.inputEnded {
            // Nothing more to read; a full hang-up means nobody is left to answer.
            if flags & EpollFlags.hangUp != 0 { closeConnection(c) }
            return
        }
        if flags & (EpollFlags.input | EpollFlags.hangUp | EpollFlags.readHangUp) != 0 { readAvailable(c) }
        readBuffered(c)
    }

    /// Reads while the machine wants input, then lets it parse what came.
    private func readAvailable(_ c: Connection) {
        var endOfInput = false
        reading: while c.isOpen && c.http.wantsInput && c.http.buffer.count <= c.http.bufferCap {
            switch c.transport.read(into: &scratch) {
            case .done(let n):
                run(c, .bytes(scratch[0..<n]))
                if buffered > config.maxBufferedBytesPerLoop { enforceBufferBudget() }
                // One syscall per request instead of two (the second only ever saw EAGAIN).
                if n < scratch.count && c.transport.shortReadDrains { break reading }
            case .wouldBlock:
                break reading
            case .endOfInput:
                endOfInput = true
                break reading
            case .failed:
                closeConnection(c)
                return
            }
        }
        guard c.isOpen else { return }
        run(c, .readsDone(endOfInput: endOfInput))
    }

    /// TLS keeps decoded bytes epoll does not know about: read them when input is wanted again.
    private func readBuffered(_ c: Connection) {
        if c.isOpen && c.http.wantsInput && c.transport.hasBufferedInput { readAvailable(c) }
    }

    private func flush(_ c: Connection) {
        while c.outOffset < c.out.count {
            switch c.transport.write(c.out, from: c.outOffset) {
            case .done(let n):
                c.outOffset += n
                if c.outOffset < c.out.count { run(c, .wroteSome) }
            case .wouldBlock:
                updateInterest(c)
                return
            case .endOfInput, .failed:
                closeConnection(c)
                return
            }
        }
        c.out = []
        c.outOffset = 0
        run(c, .flushed)
    }

    /// Feeds one event to the connection's machine and executes what it asks for.
    private func run(_ c: Connection, _ event: HTTPConnection.Event) {
        guard c.isOpen else { return }
        let before = c.http.buffer.count
        let actions = c.http.on(event, at: monotonicNow())
        buffered += c.http.buffer.count - before
        for action in actions {
            guard c.isOpen else { return }
            switch action {
            case .send(let bytes):
                if c.out.isEmpty { c.out = bytes } else { c.out = Array(c.out[c.outOffset...]) + bytes; c.outOffset = 0 }
                flush(c)
            case .dispatch(var request):
                let id = c.id
                request.peer = c.peer
                let reply = HTTPReply(send: { [self] response in deliver(id, response) }, onLoop: { [self] work in onLoop(work) })
                responder.respond(to: request, reply: reply)
            case .refused(let error):
                logger.info("bad request", ["status": .int(error.status), "error": .string(error.message)])
                responder.refused(error)
            case .timedOut(let received):
                logger.info("request timed out", ["received_bytes": .int(received)])
            case .shutdownWrite:
                c.transport.shutdownWrite()
            case .close:
                closeConnection(c)
            }
        }
        updateInterest(c)
    }

    /// Watches input while the machine wants it, output while bytes wait to be written.
    private func updateInterest(_ c: Connection) {
        guard c.isOpen else { return }
        var events: UInt32 = c.http.wantsInput ? EpollFlags.input | EpollFlags.readHangUp : 0
        if c.outOffset < c.out.count || c.transport.wantsWritable { events |= EpollFlags.output }
        guard events != c.interest else { return }
        c.interest = events
        epoll.modify(c.transport.fd, events, tag: c.id)
    }

    /// Over the budget: the connections holding the most request bytes are answered 503 (they
    /// may retry) until the loop is back under it.
    private func enforceBufferBudget() {
        var refused = 0
        while buffered > config.maxBufferedBytesPerLoop {
            var largest: Connection?
            for c in connections.values where c.isOpen && (largest == nil || c.http.buffer.count > largest!.http.buffer.count) {
                largest = c
            }
            guard let victim = largest, !victim.http.buffer.isEmpty else { break }
            refused += 1
            run(victim, .overBudget)
        }
        if refused > 0, let suppressed = budgetLog.shouldLog(now: monotonicNow()) {
            logger.warn("request buffer budget exceeded: refused the largest pending requests with 503",
                        ["refused": .int(refused), "budget_bytes": .int(config.maxBufferedBytesPerLoop),
                         "refused_since_last_line": .int(suppressed)])
        }
    }

    func closeConnection(_ c: Connection) {
        guard c.isOpen else { return }
        c.isOpen = false
        buffered -= c.http.buffer.count
        epoll.remove(c.transport.fd)
        c.transport.close()
        connections[c.id] = nil
    }

    private func sweep() {
        for c in Array(connections.values) { run(c, .tick) }
    }
}
