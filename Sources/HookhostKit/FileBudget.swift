import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Splits the descriptor limit (RLIMIT_NOFILE) between client connections and what the host needs
/// for its own work, so that idle clients can never starve the spool, functions or downloads.
public enum FileBudget {
    /// Descriptors one running function needs in the host: three pipe ends, a pidfd, and the
    /// transient other ends and directory handles while it starts.
    static let perWorker = 8
    /// One download: the socket(s) libcurl opens and the file written to.
    static let perFetcher = 4
    /// Compaction, control-socket clients, secrets and JWKS reloads, the spare EMFILE descriptor.
    static let slack = 16

    /// How many client connections fit: never below 1 (the host must stay reachable) even when
    /// the limit is too small for the reserve, which `warning` then reports.
    public static func connections(limit: Int, inUse: Int, workers: Int, fetchers: Int) -> Int {
        max(1, limit - reserve(inUse: inUse, workers: workers, fetchers: fetchers))
    }

    /// Descriptors kept back from connections.
    public static func reserve(inUse: Int, workers: Int, fetchers: Int) -> Int {
        inUse + slack + workers * perWorker + fetchers * perFetcher
    }

    /// The soft RLIMIT_NOFILE (after `Host.raiseFileLimit`).
    public static func currentLimit() -> Int {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0 else { return 1024 }
        // RLIM_INFINITY is the all-ones value; anything that large is "plenty".
        return Int(min(rl.rlim_cur, rlim_t(Int32.max)))
    }

    /// Descriptors open in this process now.
    public static func openCount() -> Int {
        guard let names = try? DirectoryEntries.names("/proc/self/fd") else { return 16 }
        return max(0, names.count - 1)  // the directory's own descriptor
    }
}
