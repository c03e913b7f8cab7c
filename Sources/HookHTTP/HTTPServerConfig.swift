import HookSupport
import HookNet
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
