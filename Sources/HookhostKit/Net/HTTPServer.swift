/// An HTTP/1.1 server: a few epoll loops share the listening sockets; no thread per connection.
public final class HTTPServer: Sendable {
    private let loops: [EventLoop]

    /// `listeners` are already bound, non-blocking descriptors (see `Listener.open`).
    public init(listeners: [Int32], loops count: Int, config: HTTPServerConfig, responder: any HTTPResponder, logger: Logger) {
        loops = (0..<max(1, count)).map {
            EventLoop(index: $0, listeners: listeners, config: config, responder: responder, logger: logger)
        }
    }

    /// Starts the loop threads and returns; `nice` lowers their priority (see `Spool.startWriter`).
    public func start(nice: Int32? = nil) {
        for (i, loop) in loops.enumerated() { startThread(name: "http-\(i)", nice: nice) { loop.run() } }
    }

    /// Asks the loops to close their connections and exit.
    public func stop() { for l in loops { l.stop() } }
}
