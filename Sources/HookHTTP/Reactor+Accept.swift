import Glibc
import HookSupport
import HookNet

/// Accepting: taking every pending connection off a listener, dealing it to a loop, and serving it
/// here within the per-loop cap (evicting the longest-idle keep-alive connection to make room).
/// Runs on the loop thread, like the rest of `Reactor`.
extension Reactor {
    func acceptAll(_ listener: Int32) {
        while true {
            switch acceptor.accept(listener) {
            case .drained:
                return
            case .failed(let e):
                logger.warn("accept failed", ["errno": .int(Int(e)), "error": .string(String(cString: strerror(e)))])
                return
            case .exhausted(let more):
                if let suppressed = emfileLog.shouldLog(now: monotonicNow()) {
                    logger.error("out of file descriptors: refusing connections",
                                 ["open": .int(connections.count), "refused_since_last_line": .int(suppressed)])
                }
                if !more { return }
            case .accepted(let fd):
                // Whichever loop epoll woke accepts everything pending; dealing the connections
                // out keeps one loop from serving a burst of clients alone while the others idle.
                if let other = dealer?.pick(), other !== self { other.adopt(fd) } else { register(fd) }
            }
        }
    }

    /// Serves an accepted connection on this loop (unless at the cap or stopping).
    func register(_ fd: Int32) {
        if stopping.load(ordering: .relaxed) { close(fd); return }
        if connections.count >= config.maxConnectionsPerLoop && !evictIdleConnection() {
            close(fd)
            if let suppressed = refusals.shouldLog(now: monotonicNow()) {
                logger.warn("connection refused: too many open connections",
                            ["limit": .int(config.maxConnectionsPerLoop), "refused_since_last_line": .int(suppressed)])
            }
            return
        }
        guard let transport = transports.make(fd: fd) else { close(fd); return }
        let id = nextID
        nextID += 1
        let c = Connection(id: id, transport: transport, http: HTTPConnection(settings: settings, now: monotonicNow()))
        connections[id] = c
        // The transport's descriptor, as every later modify/remove uses (the same socket for TCP and TLS).
        epoll.add(transport.fd, c.interest, tag: id)
    }

    /// At the connection cap, a new client is worth more than the one idle the longest: keep-alive
    /// connections that sent nothing for a while are what an exhaustion attempt is made of.
    private func evictIdleConnection() -> Bool {
        var oldest: Connection?
        for c in connections.values where c.http.isIdle && (oldest == nil || c.http.lastActivity < oldest!.http.lastActivity) { oldest = c }
        guard let victim = oldest else { return false }
        closeConnection(victim)
        return true
    }
}
