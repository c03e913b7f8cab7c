import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// An in-memory `Fetcher` for dispatcher tests: answers each URI from a script (bytes or an error
/// per call), writes real files so handlers can read them, and records what was asked.
public final class MemoryFetcher: Fetcher {
    /// What one call for a URI produces.
    public enum Answer: Sendable {
        case bytes([UInt8], contentType: String?)
        case failure(FetchError)
    }

    private struct State {
        var scripts: [String: [Answer]] = [:]
        var calls: [String] = []
    }

    // Mutex makes the class Sendable: all mutable state is behind it.
    private let state = Mutex(State())

    public init() {}

    /// Queues answers for `uri`; calls take them in order and the last one repeats.
    public func script(_ uri: String, _ answers: [Answer]) { state.withLock { $0.scripts[uri] = answers } }

    /// The URIs fetched so far, in order.
    public var calls: [String] { state.withLock { $0.calls } }

    public func fetch(_ request: FetchRequest, into directory: String) throws(FetchError) -> FetchedResult {
        let answer: Answer = state.withLock { s in
            s.calls.append(request.uri)
            guard var queue = s.scripts[request.uri], let first = queue.first else {
                return .failure(.notFound(status: 404, url: request.url.redacted))
            }
            if queue.count > 1 { queue.removeFirst(); s.scripts[request.uri] = queue }
            return first
        }
        switch answer {
        case .failure(let e):
            throw e
        case .bytes(let data, let type):
            let file = try ResultFile(directory: directory, name: request.fileName)
            try file.write(data)
            let path = try file.commit(as: request.fileName)
            return FetchedResult(uri: request.uri, path: path, bytes: data.count, sha256: hexString(Crypto.sha256(data)), contentType: type)
        }
    }
}
