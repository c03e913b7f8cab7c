import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP

/// A JWKS as fetched: the document and how long it may be cached (`Cache-Control: max-age`).
public struct JWKSDocument: Sendable {
    public var bytes: [UInt8]
    /// Seconds; nil when the source said nothing.
    public var maxAge: Double?

    public init(bytes: [UInt8], maxAge: Double?) {
        self.bytes = bytes
        self.maxAge = maxAge
    }
}

/// Where JWKS documents come from: a URL (Fetch's `HTTPJWKSSource`) or a local file.
public protocol JWKSSource: Sendable {
    /// The URL or path, for logs and `/readyz` (no secrets in it).
    var location: String { get }
    /// Fetches the document; blocking, bounded by the source's own timeouts.
    func fetch() throws(JWKSFetchError) -> JWKSDocument
    /// Seconds between cheap change checks; nil when only the cache lifetime schedules fetches.
    var pollInterval: Double? { get }
    /// Whether the document changed since the last fetch (only asked when `pollInterval` is set).
    func changed() -> Bool
}

/// A fetch that produced no usable document.
public struct JWKSFetchError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A JWKS in a local file (offline use, tests): re-read when its modification time or size changes.
public final class FileJWKSSource: JWKSSource {
    public let path: String
    private let stamp = Mutex<(Int, Int)>((-1, -1))

    public init(path: String) { self.path = path }

    public var location: String { path }
    public var pollInterval: Double? { 2 }

    public func fetch() throws(JWKSFetchError) -> JWKSDocument {
        let st = FileJWKSSource.stamp(path)
        // Taken before the read, and kept when it fails too: a missing or unreadable file is
        // retried with the cache's backoff, not on every 2 s poll; a change is still noticed.
        stamp.withLock { $0 = st }
        let bytes: [UInt8]
        do { bytes = try SmallFile.read(path, limit: JWKSet.maxBytes) } catch { throw JWKSFetchError(error.description) }
        // A file is re-read when it changes, not on a schedule.
        return JWKSDocument(bytes: bytes, maxAge: nil)
    }

    public func changed() -> Bool {
        let st = FileJWKSSource.stamp(path)
        return stamp.withLock { $0 != st }
    }

    private static func stamp(_ path: String) -> (Int, Int) {
        var st = stat()
        guard stat(path, &st) == 0 else { return (0, 0) }
        return (Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec), Int(st.st_size))
    }
}
