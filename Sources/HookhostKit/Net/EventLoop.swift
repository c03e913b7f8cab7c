import CSys
import Glibc
import Synchronization

/// Answers one parsed request. Called on an event-loop thread, so it must not block: hand slow
/// work elsewhere and call `respond` exactly once, from any thread, when the answer is known.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void)
    /// Told about requests the server refused before they were complete (413, 400, 431, …).
    func refused(_ error: HTTPParseError)
}

extension HTTPResponder {
    public func refused(_ error: HTTPParseError) {}
}

/// Connection-level settings of the server.
public struct HTTPServerConfig: Sendable {
    public var limits = HTTPLimits()
    /// Seconds a client has to send one whole request once it started it, and a new connection
    /// has to start its first one.
    public var readTimeout: Double = 10
    /// Seconds an idle keep-alive connection stays open.
    public var idleTimeout: Double = 60
    /// Open connections per event loop before new ones are refused.
    public var maxConnectionsPerLoop = 10_000
    /// Request bytes one event loop may hold in connection buffers at once. Past it, the
    /// connection holding the most is answered 503 and closed: many slow or stalled uploads must
    /// not add up to gigabytes, while small requests keep getting through.
    public var maxBufferedBytesPerLoop = 64 << 20
    /// Seconds a stopping loop still waits for answers it owes (a delivery being written) before
    /// closing every connection.
    public var stopTimeout: Double = 2
    public init() {}
}

/// One epoll-driven thread that owns a set of connections. Its connection table is only touched
/// on its own thread; other threads reach it through `mailbox` + the eventfd.
final class EventLoop: @unchecked Sendable {  // safe: mutable state is confined to the loop thread (see above)
    private let epfd: Int32
    private let wakeFD: Int32
    private let listeners: [Int32]
    private let config: HTTPServerConfig
    private let parser: HTTPParser
    private let responder: any HTTPResponder
    private let logger: Logger
    private let mailbox = Mutex<[(UInt64, HTTPResponse)]>([])
    private let stopping = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var connections: [UInt64: Connection] = [:]
    private var nextID: UInt64
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    private var lastSweep = monotonicNow()
    /// Held open so that, out of descriptors (EMFILE), a pending connection can still be accepted
    /// and closed instead of spinning on a listener that stays readable.
    private var spareFD: Int32 = open("/dev/null", O_RDONLY | O_CLOEXEC)
    private var emfileLog = RateLimitedLog(interval: 5)
    private var refusals = RateLimitedLog(interval: 5)
    private var budgetLog = RateLimitedLog(interval: 5)
    /// Bytes in all connection buffers of this loop (see `maxBufferedBytesPerLoop`).
    private var buffered = 0

    private static let wakeTag: UInt64 = 0
    private static let listenerTagBase: UInt64 = 1

    /// Throws when the loop's own descriptors cannot be created (a tiny RLIMIT_NOFILE).
    init(index: Int, listeners: [Int32], config: HTTPServerConfig, responder: any HTTPResponder, logger: Logger) throws(SystemError) {
        let epfd = hh_epoll_create()
        guard epfd >= 0 else { throw SystemError("epoll_create1", "event loop \(index)") }
        let wakeFD = hh_eventfd()
        guard wakeFD >= 0 else {
            let e = SystemError("eventfd", "event loop \(index)")
            close(epfd)
            throw e
        }
        self.epfd = epfd
        self.wakeFD = wakeFD
        self.listeners = listeners
        self.config = config
        self.parser = HTTPParser(limits: config.limits)
        self.responder = responder
        self.logger = logger
        // Connection ids carry the loop index in the top bits so they never collide across loops.
        self.nextID = UInt64(index) << 48 | 0x100
        _ = hh_epoll_add(epfd, wakeFD, HH_EPOLLIN, EventLoop.wakeTag)
        for (i, fd) in listeners.enumerated() {
            // EPOLLEXCLUSIVE: one loop wakes per new connection instead of all of them.
            _ = hh_epoll_add(epfd, fd, HH_EPOLLIN | UInt32(1 << 28), EventLoop.listenerTagBase + UInt64(i))
        }
    }

    func run() {
        thread = pthread_self()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var stopDeadline: Double?
        while true {
            if stopping.load(ordering: .relaxed) {
                if stopDeadline == nil {
                    // Stop accepting; requests already taken still get their answers.
                    stopDeadline = monotonicNow() + config.stopTimeout
                    for fd in listeners { _ = hh_epoll_del(epfd, fd) }
                }
                if !connections.values.contains(where: { $0.busy }) || monotonicNow() >= stopDeadline! { break }
            }
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, 256, stopDeadline == nil ? 500 : 50) }
            if n < 0 && errno != EINTR { logger.error("epoll_wait failed", ["errno": .int(Int(errno))]); break }
            for i in 0..<max(0, Int(n)) {
                let (tag, flags) = events.withUnsafeBufferPointer { (hh_epoll_event_data($0.baseAddress, Int32(i)), hh_epoll_event_flags($0.baseAddress, Int32(i))) }
                if tag == EventLoop.wakeTag {
                    var v: UInt64 = 0
                    _ = read(wakeFD, &v, 8)
                    drainMailbox()
                } else if tag < EventLoop.listenerTagBase + UInt64(listeners.count) {
                    if stopDeadline == nil { acceptAll(listeners[Int(tag - EventLoop.listenerTagBase)]) }
                } else if let conn = connections[tag] {
                    handle(conn, flags: flags)
                }
            }
            let now = monotonicNow()
            if now - lastSweep >= 0.5 { sweep(now); lastSweep = now }
        }
        for c in connections.values { closeConnection(c) }
    }

    /// Asks the loop to exit (from any thread); `run` returns once owed answers are written or
    /// `stopTimeout` passed.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Delivers a response from any thread.
    private func deliver(_ id: UInt64, _ response: HTTPResponse) {
        if pthread_equal(pthread_self(), thread) != 0 {
            if let c = connections[id] { complete(c, response) }
            return
        }
        // One wake-up per batch: the loop drains the whole mailbox each time it wakes.
        let wasEmpty = mailbox.withLock { box -> Bool in
            let empty = box.isEmpty
            box.append((id, response))
            return empty
        }
        guard wasEmpty else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func drainMailbox() {
        let items = mailbox.withLock { box -> [(UInt64, HTTPResponse)] in
            let taken = box
            box.removeAll(keepingCapacity: true)
            return taken
        }
        for (id, resp) in items {
            guard let c = connections[id] else { continue }  // client went away meanwhile
            complete(c, resp)
            if !c.closed && !c.busy { processBuffer(c) }
        }
    }

    private func acceptAll(_ lfd: Int32) {
        while true {
            let fd = hh_accept4(lfd)
            if fd < 0 {
                if errno == EINTR { continue }
                if (errno == EMFILE || errno == ENFILE) && spareFD >= 0 {
                    close(spareFD)
                    let victim = hh_accept4(lfd)
                    if victim >= 0 { close(victim) }
                    spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
                    if let suppressed = emfileLog.shouldLog(now: monotonicNow()) {
                        logger.error("out of file descriptors: refusing connections",
                                     ["open": .int(connections.count), "refused_since_last_line": .int(suppressed)])
                    }
                    if victim >= 0 { continue }
                    return
                }
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED {
                    logger.warn("accept failed", ["errno": .int(Int(errno)), "error": .string(String(cString: strerror(errno)))])
                }
                return
            }
            if connections.count >= config.maxConnectionsPerLoop && !evictIdleConnection() {
                close(fd)
                if let suppressed = refusals.shouldLog(now: monotonicNow()) {
                    logger.warn("connection refused: too many open connections",
                                ["limit": .int(config.maxConnectionsPerLoop), "refused_since_last_line": .int(suppressed)])
                }
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let id = nextID
            nextID += 1
            let c = Connection(id: id, fd: fd, now: monotonicNow())
            connections[id] = c
            _ = hh_epoll_add(epfd, fd, HH_EPOLLIN | HH_EPOLLRDHUP, id)
        }
    }

    /// At the connection cap, a new client is worth more than the one idle the longest: keep-alive
    /// connections that sent nothing for a while are what an exhaustion attempt is made of.
    private func evictIdleConnection() -> Bool {
        var oldest: Connection?
        for c in connections.values where c.isIdle && (oldest == nil || c.lastActivity < oldest!.lastActivity) { oldest = c }
        guard let victim = oldest else { return false }
        closeConnection(victim)
        return true
    }

    private func handle(_ c: Connection, flags: UInt32) {
        if flags & HH_EPOLLERR != 0 { closeConnection(c); return }
        if flags & HH_EPOLLOUT != 0 {
            flush(c)
            if !c.closed && !c.busy && !c.buffer.isEmpty { processBuffer(c) }
        }
        if c.closed { return }
        if c.peerClosed {
            // Nothing more to read; a full hang-up means nobody is left to answer.
            if flags & HH_EPOLLHUP != 0 { closeConnection(c) }
            return
        }
        if flags & (HH_EPOLLIN | HH_EPOLLHUP | HH_EPOLLRDHUP) != 0 { readAvailable(c) }
    }

    private func readAvailable(_ c: Connection) {
        let cap = config.limits.maxHeaderBytes + config.limits.maxBodyBytes + 8
        var sawEOF = false
        while true {
            let n = scratch.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                c.lastActivity = monotonicNow()
                if c.lingering {
                    // Discarding what a refused client still sends, up to a bound.
                    c.lingerBytes += n
                    if c.lingerBytes > 4 << 20 { closeConnection(c); return }
                    continue
                }
                if c.requestStartedAt == nil { c.requestStartedAt = c.lastActivity }
                c.buffer.append(contentsOf: scratch[0..<n])
                buffered += n
                if buffered > config.maxBufferedBytesPerLoop {
                    enforceBufferBudget()
                    if c.closed || c.lingering { return }
                }
                if c.buffer.count > cap {
                    // Still answering and the client keeps sending: stop watching input until then.
                    if c.busy { setInterest(c, c.out.isEmpty ? 0 : HH_EPOLLOUT) }
                    break
                }
                continue
            }
            if n == 0 { sawEOF = true; break }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { break }
            closeConnection(c)
            return
        }
        if c.lingering { if sawEOF { closeConnection(c) }; return }
        if sawEOF {
            // The client finished sending (half-close): every complete request it sent is still
            // answered, in order, then the connection closes. Input is no longer watched (a
            // half-closed socket stays readable and would spin the loop); output is, when pending.
            c.peerClosed = true
            setInterest(c, c.out.isEmpty ? 0 : HH_EPOLLOUT)
        }
        if !c.busy { processBuffer(c) }
    }

    /// Parses and dispatches as many buffered requests as possible (pipelining), one at a time.
    private func processBuffer(_ c: Connection) {
        while !c.closed && !c.busy && !c.buffer.isEmpty {
            let result: HTTPParseResult
            do {
                result = try parser.parse(c.buffer)
            } catch {
                logger.info("bad request", ["status": .int(error.status), "error": .string(error.message)])
                responder.refused(error)
                setBuffer(c, [])
                c.busy = true
                complete(c, .error(error.status, error.message, close: true))
                return
            }
            guard case .complete(let request, let consumed) = result else {
                if !c.sentContinue && parser.expectsContinue(c.buffer) {
                    // Clients like curl otherwise wait a second before sending the body.
                    c.sentContinue = true
                    let interim = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                    _ = interim.withUnsafeBytes { write(c.fd, $0.baseAddress, $0.count) }
                }
                break
            }
            c.sentContinue = false
            // An idle connection must not keep the capacity of its largest request: drop the
            // buffer, or copy what was pipelined after this request into a right-sized one.
            setBuffer(c, consumed == c.buffer.count ? [] : Array(c.buffer[consumed...]))
            c.requestStartedAt = c.buffer.isEmpty ? nil : monotonicNow()
            c.servedAny = true
            c.keepAlive = request.keepAlive
            c.isHead = request.method == "HEAD"
            c.busy = true
            let id = c.id
            responder.respond(to: request) { [self] response in self.deliver(id, response) }
        }
        // While busy, input stays watched: clients normally wait for the answer, so this costs no
        // epoll_ctl per request; a client that sends on meanwhile is buffered up to the cap.
        if !c.closed && !c.busy {
            // After a half-close, what is left can never become a complete request.
            if c.peerClosed { closeConnection(c); return }
            setInterest(c, HH_EPOLLIN | HH_EPOLLRDHUP)
        }
    }

    private func complete(_ c: Connection, _ response: HTTPResponse) {
        guard !c.closed, c.busy, c.out.isEmpty else { return }
        // After a half-close the connection stays open only for requests already buffered.
        let keep = c.keepAlive && !response.close && !(c.peerClosed && c.buffer.isEmpty)
        c.closeAfterWrite = !keep
        c.out = response.encode(keepAlive: keep, head: c.isHead)
        c.isHead = false
        c.outOffset = 0
        flush(c)
    }

    private func flush(_ c: Connection) {
        while c.outOffset < c.out.count {
            let n = c.out.withUnsafeBytes { write(c.fd, $0.baseAddress! + c.outOffset, $0.count - c.outOffset) }
            if n > 0 { c.outOffset += n; c.lastActivity = monotonicNow(); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                setInterest(c, HH_EPOLLOUT)
                return
            }
            closeConnection(c)
            return
        }
        c.out = []
        c.outOffset = 0
        c.busy = false
        if c.closeAfterWrite {
            if c.peerClosed { closeConnection(c); return }
            // Lingering close: stop writing, read and discard briefly so the client sees the
            // answer instead of a reset caused by unread request bytes.
            shutdown(c.fd, Int32(SHUT_WR))
            c.lingering = true
            setBuffer(c, [])
            c.lingerDeadline = monotonicNow() + 2
            setInterest(c, HH_EPOLLIN | HH_EPOLLRDHUP)
            return
        }
        // Half-closed: answer the next buffered request (or close: `processBuffer` decides).
        if c.peerClosed { setInterest(c, 0); processBuffer(c); return }
        setInterest(c, HH_EPOLLIN | HH_EPOLLRDHUP)
    }

    private func setInterest(_ c: Connection, _ events: UInt32) {
        guard !c.closed, c.interest != events else { return }
        c.interest = events
        _ = hh_epoll_mod(epfd, c.fd, events, c.id)
    }

    /// Replaces a connection's buffer, keeping `buffered` in step.
    private func setBuffer(_ c: Connection, _ bytes: [UInt8]) {
        buffered += bytes.count - c.buffer.count
        c.buffer = bytes
    }

    /// Over the budget: the connections holding the most request bytes are answered 503 (they
    /// may retry) until the loop is back under it.
    private func enforceBufferBudget() {
        var refused = 0
        while buffered > config.maxBufferedBytesPerLoop {
            var largest: Connection?
            for c in connections.values where !c.closed && !c.lingering && (largest == nil || c.buffer.count > largest!.buffer.count) {
                largest = c
            }
            guard let victim = largest, !victim.buffer.isEmpty else { break }
            refused += 1
            setBuffer(victim, [])
            if victim.busy {
                // Its request is being answered; what it pipelined after it is dropped with it.
                victim.keepAlive = false
                continue
            }
            victim.busy = true
            complete(victim, .error(503, "too many request bytes in flight; retry", headers: [("Retry-After", "5")], close: true))
        }
        if refused > 0, let suppressed = budgetLog.shouldLog(now: monotonicNow()) {
            logger.warn("request buffer budget exceeded: refused the largest pending requests with 503",
                        ["refused": .int(refused), "budget_bytes": .int(config.maxBufferedBytesPerLoop),
                         "refused_since_last_line": .int(suppressed)])
        }
    }

    private func closeConnection(_ c: Connection) {
        guard !c.closed else { return }
        buffered -= c.buffer.count
        c.buffer = []
        c.closed = true
        _ = hh_epoll_del(epfd, c.fd)
        close(c.fd)
        connections[c.id] = nil
    }

    private func sweep(_ now: Double) {
        for c in connections.values {
            if c.lingering {
                if now > c.lingerDeadline { closeConnection(c) }
            } else if !c.out.isEmpty {
                if now - c.lastActivity > config.readTimeout { closeConnection(c) }  // client not reading
            } else if c.busy {
                continue  // waiting for our own answer (spool commit); not the client's fault
            } else if let started = c.requestStartedAt {
                if now - started > config.readTimeout {
                    logger.info("request timed out", ["received_bytes": .int(c.buffer.count)])
                    c.busy = true
                    setBuffer(c, [])
                    complete(c, .error(408, "request not received within \(Int(config.readTimeout)) s", close: true))
                }
            } else if !c.servedAny {
                // A new connection must start its first request within the read timeout, not
                // the (much longer) keep-alive idle timeout.
                if now - c.acceptedAt > config.readTimeout { closeConnection(c) }
            } else if now - c.lastActivity > config.idleTimeout {
                closeConnection(c)
            }
        }
    }
}

/// Per-connection state, owned by one event loop.
final class Connection {
    let id: UInt64
    let fd: Int32
    var buffer: [UInt8] = []
    var requestStartedAt: Double?
    var lastActivity: Double
    /// A request is being answered (or its answer written); nothing more is parsed meanwhile.
    var busy = false
    var keepAlive = true
    var isHead = false
    var out: [UInt8] = []
    var outOffset = 0
    var closeAfterWrite = false
    var peerClosed = false
    var lingering = false
    var lingerDeadline = 0.0
    var closed = false
    var sentContinue = false
    var lingerBytes = 0
    var interest: UInt32 = HH_EPOLLIN | HH_EPOLLRDHUP
    let acceptedAt: Double
    /// At least one request was parsed; before that, the read timeout bounds the wait.
    var servedAny = false

    init(id: UInt64, fd: Int32, now: Double) {
        self.id = id
        self.fd = fd
        self.lastActivity = now
        self.acceptedAt = now
    }

    /// Between requests, with nothing buffered or pending: closing it loses nothing.
    var isIdle: Bool { !busy && !lingering && buffer.isEmpty && out.isEmpty && !peerClosed }
}
