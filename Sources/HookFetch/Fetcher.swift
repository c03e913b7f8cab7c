import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// Downloads one result into a directory (the port the dispatcher calls; `CurlFetcher` is the
/// real one, `MemoryFetcher` the test double). Blocking; call it off the event loop.
public protocol Fetcher: Sendable {
    /// Streams the result to `directory/<request.fileName>` and describes it; a thrown error says
    /// whether a later attempt can help (`FetchError.isFinal`). Nothing is left behind on error.
    func fetch(_ request: FetchRequest, into directory: String) throws(FetchError) -> FetchedResult
}

/// Every limit of a download, with safe defaults.
public struct FetchLimits: Sendable, Equatable {
    /// Largest result accepted, checked against Content-Length and again while streaming.
    public var maxBytes = 64 << 30
    /// Redirects followed per request.
    public var maxRedirects = 5
    /// Range requests made after broken transfers, per fetch.
    public var maxResumes = 3
    /// Seconds to establish a connection.
    public var connectTimeout: Double = 10
    /// A transfer slower than this many bytes/s for `lowSpeedSeconds` is broken (then resumed).
    public var lowSpeedBytesPerSecond = 1024
    public var lowSpeedSeconds = 30
    /// Free space that must remain after the expected size, so a download never fills the disk
    /// the spool writes to.
    public var diskMargin = 64 << 20
    /// libcurl receive buffer (PLATFORM.md: ~100 KB, the default 16 KB is 2× slower).
    public var bufferSize = 100 << 10
    /// Error bodies (404 pages, JSON errors) are read and dropped up to this size, then the
    /// transfer is cut.
    public var maxErrorBody = 64 << 10

    public init() {}
}
