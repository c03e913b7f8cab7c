import HookSupport
/// What one transport operation did.
package enum TransportResult: Equatable {
    /// This many bytes were read or written (never 0 for a read: that is `.endOfInput`).
    case done(Int)
    /// Nothing can move until the socket is ready again (for TLS this may mean the other
    /// direction: see `Transport.wantsWritable`).
    case wouldBlock
    /// The peer finished sending (TCP FIN, TLS close_notify).
    case endOfInput
    /// The connection is unusable (reset, TLS alert); `reason` is for logs.
    case failed(reason: String)
}

/// The byte pipe under an HTTP connection: plain TCP now, TLS as another implementation. The
/// reactor and the HTTP state machine see only this, never the socket or an SSL pointer.
/// Confined to its event loop's thread.
package protocol Transport: AnyObject {
    /// The socket descriptor, for epoll registration only.
    var fd: Int32 { get }
    /// Reads into `buffer` from index 0, up to its count.
    func read(into buffer: inout [UInt8]) -> TransportResult
    /// Writes from `bytes[offset...]`.
    func write(_ bytes: [UInt8], from offset: Int) -> TransportResult
    /// The last operation is blocked on the socket becoming writable (a TLS handshake or
    /// read may need to send before it can go on), so the reactor must watch EPOLLOUT.
    var wantsWritable: Bool { get }
    /// Bytes already received and decoded but not yet returned by `read` (TLS records are
    /// decoded whole): epoll will not report them, so the reactor reads again without waiting.
    var hasBufferedInput: Bool { get }
    /// A read that returned less than asked for took all the socket had (plain TCP): reading
    /// again would only meet EAGAIN, and the level-triggered epoll reports what arrives later.
    /// False for TLS, whose reads return one record at a time.
    var shortReadDrains: Bool { get }
    /// Ends our sending direction (TLS: close_notify first); reading goes on.
    func shutdownWrite()
    /// Releases everything; the transport is unusable afterwards.
    func close()
}

/// Makes the transport for each accepted socket (plain TCP, or TLS with the current
/// certificate); shared by the loops, called on their threads.
package protocol TransportFactory: Sendable {
    /// Wraps an accepted, non-blocking socket; nil refuses the connection (the socket is closed).
    func make(fd: Int32) -> (any Transport)?
}
