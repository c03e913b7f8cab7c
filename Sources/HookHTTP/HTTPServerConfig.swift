import HookSupport
import HookNet
/// Answers one parsed request. Called on an event-loop thread, so it must not block: hand slow
/// work elsewhere and call `respond` exactly once, from any thread, when the answer is known.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void)
    /// What the server calls. By default answers through `respond(to:_:)`; a responder whose
    /// answer becomes known on a thread that must not be kept busy (the spool writer) implements
    /// it and finishes the request's work with `reply.onLoop`.
    func respond(to request: HTTPRequest, reply: HTTPReply)
    /// Told about requests the server refused before they were complete (413, 400, 431, …).
    func refused(_ error: HTTPParseError)
}

extension HTTPResponder {
    public func respond(to request: HTTPRequest, reply: HTTPReply) { respond(to: request, reply.send) }
    public func refused(_ error: HTTPParseError) {}
}

/// How a responder answers one request: `send` the answer (exactly once, from any thread), and
/// `onLoop` to have work run on the event loop serving the connection — at once when called
/// there, else through its mailbox — so whoever learns the outcome only hands it over.
public struct HTTPReply: Sendable {
    public let send: @Sendable (HTTPResponse) -> Void
    public let onLoop: @Sendable (@escaping @Sendable () -> Void) -> Void

    public init(send: @escaping @Sendable (HTTPResponse) -> Void, onLoop: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.send = send
        self.onLoop = onLoop
    }

    /// Without an event loop (tests, tools): the work runs on the thread that hands it over.
    public init(send: @escaping @Sendable (HTTPResponse) -> Void) {
        self.init(send: send, onLoop: { $0() })
    }
}

/// Connection-level settings of the server.
public struct HTTPServerConfig: Sendable {
    public var limits = HTTPLimits()
    /// Seconds a client has to send one whole request once it started it, and a new connection
    /// has to start its first one (for TLS: the handshake included).
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
