import Synchronization
import HookSupport
import HookNet

/// An HTTP/1.1 server: a few epoll loops share the listening sockets; no thread per connection.
public final class HTTPServer: Sendable {
    private let loops: [Reactor]
    private let threads = Mutex<[ThreadHandle]>([])

    /// `listeners` are already bound, non-blocking descriptors (see `Listener.open`).
    /// Throws when an event loop's descriptors cannot be created (see `EventLoop.init`).
    public convenience init(listeners: [Int32], loops count: Int, config: HTTPServerConfig, responder: any HTTPResponder, logger: Logger) throws(SystemError) {
        try self.init(listeners: listeners, loops: count, config: config, transports: TCPTransportFactory(), responder: responder, logger: logger)
    }

    /// An HTTPS server when `tls` is given: every accepted connection speaks TLS with its certificate.
    public convenience init(listeners: [Int32], loops count: Int, config: HTTPServerConfig, tls: TLSCertificates?,
                            responder: any HTTPResponder, logger: Logger) throws(SystemError) {
        let transports: any TransportFactory = tls ?? TCPTransportFactory()
        try self.init(listeners: listeners, loops: count, config: config, transports: transports, responder: responder, logger: logger)
    }

    /// As above, with the transport each accepted connection gets (plain TCP or TLS).
    init(listeners: [Int32], loops count: Int, config: HTTPServerConfig, transports: any TransportFactory,
         responder: any HTTPResponder, logger: Logger) throws(SystemError) {
        var made: [Reactor] = []
        for i in 0..<max(1, count) {
            made.append(try Reactor(index: i, listeners: listeners, config: config, transports: transports, responder: responder, logger: logger))
        }
        loops = made
        if made.count > 1 {
            let dealer = ConnectionDealer(made)
            for l in made { l.dealer = dealer }
        }
    }

    /// Starts the loop threads and returns; `nice` lowers their priority (see `Spool.startWriter`).
    public func start(nice: Int32? = nil) {
        let started = loops.enumerated().map { i, loop in startThread(name: "http-\(i)", nice: nice) { loop.run() } }
        threads.withLock { $0 += started }
    }

    /// Asks the loops to stop accepting, finish answers already owed (bounded by the stop
    /// timeout), close their connections and exit; `join()` waits for that.
    public func stop() { for l in loops { l.stop() } }

    /// Waits until every loop thread has exited (after `stop()`).
    public func join() {
        for t in threads.withLock({ $0 }) { t.join() }
    }
}
