import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// What `hookhost status` shows and `GET /status` on the control socket answers: whether the host
/// is ready and why not, what it verifies with, its functions and their problems, the queue, the
/// dead letters and the latest errors. Plain data: gathered by the host (or, with the host
/// stopped, from the data directory alone), written as JSON, read back by the CLI and printed.
/// Never holds a secret: HMAC secrets appear as fingerprints, URLs without their query.
public struct StatusReport: Sendable, Equatable {
    /// A `hookhost serve` answered; false: read from the data directory with no host running.
    public var running = false
    /// Why the host is not ready (`/readyz`'s reasons); with `running` false, that it is not running.
    public var problems: [String] = []
    public var version: String?
    public var pid: Int?
    public var startedAt: Double?
    public var listen: String?
    public var data: String?
    /// Fingerprints of the HMAC secrets (nil: not known, the host is not running).
    public var secrets: [String]?
    /// When a secret kept through a rotation stops verifying, by fingerprint (seconds since the epoch).
    public var secretExpiry: [String: Double] = [:]
    public var jwks: JWKS?
    public var fetch: FetchSources?
    public var functions: Functions?
    public var queue = Queue()
    /// Dead letters now, by the function that ran last ("" when none ran), by name.
    public var deadLetters: [DeadLetters] = []
    /// The latest errors, newest first.
    public var lastErrors: [ErrorEntry] = []
    /// When the report was made.
    public var at: Double = 0

    public init() {}

    public var ready: Bool { running && problems.isEmpty }
    public var deadLetterTotal: Int { deadLetters.reduce(0) { $0 + $1.count } }

    public struct JWKS: Sendable, Equatable {
        /// The URL (without its query) or the file.
        public var source: String
        /// `ok`, `stale` (fetches fail, the last good keys are used), `unavailable` (never
        /// fetched, fetches fail), `not_fetched` (fetched on the first JWT delivery).
        public var state: String
        public var keys: Int
        /// Seconds since the last good fetch; nil: never.
        public var ageSeconds: Int?
        public var error: String?
    }

    public struct FetchSources: Sendable, Equatable {
        public var apiBase: String
        public var gcsBase: String
        public var extraHosts: [String]
    }

    public struct Functions: Sendable, Equatable {
        public var directory: String
        public var list: [Function] = []
        /// Files that look like functions but cannot run, unusable sidecars, a missing directory.
        public var problems: [String] = []
    }

    public struct Function: Sendable, Equatable {
        public var name: String
        /// What runs: the file, its symlinks resolved.
        public var executable: String
        /// Why its deliveries fail or warn (an unusable sidecar, unknown sidecar keys).
        public var problem: String?
    }

    public struct Queue: Sendable, Equatable {
        /// Unfinished deliveries, waiting retries included.
        public var depth = 0
        public var received = 0
        public var running = 0
        public var retryScheduled = 0
        /// How long ago the oldest unfinished delivery arrived; nil: none.
        public var oldestAgeSeconds: Int?
    }

    public struct DeadLetters: Sendable, Equatable {
        public var function: String
        public var count: Int
    }

    public struct ErrorEntry: Sendable, Equatable {
        public var at: Double
        public var id: String
        public var type: String
        /// `dead` or `retry_scheduled`.
        public var state: String
        public var function: String?
        public var attempt: Int
        public var error: String
    }
}

extension JWKSStatus {
    /// The JWKS state as `/readyz` and `hookhost status` name it.
    public var stateName: String {
        age == nil ? (failing ? "unavailable" : "not_fetched") : (failing ? "stale" : "ok")
    }
}

// MARK: gathering

extension StatusReport {
    /// How many of the latest errors a report lists.
    public static let lastErrorCount = 10

    /// Queue, dead letters and latest errors, from the spool (works on a spool opened read-only,
    /// with no host running).
    public mutating func addSpool(_ spool: any DeliveryQueries, now: Double) {
        let u = spool.unfinishedSummary()
        queue = Queue(depth: spool.queueDepth, received: u.received, running: u.running, retryScheduled: u.retryScheduled,
                      oldestAgeSeconds: u.oldestReceivedAt.map { Int(max(0, (now - $0).rounded())) })
        let dead = spool.list(state: .dead)
        let retrying = spool.list(state: .retryScheduled)
        deadLetters = StatusReport.byFunction(dead)
        lastErrors = StatusReport.latestErrors(dead + retrying, count: StatusReport.lastErrorCount)
    }

    /// Dead letters counted by function, sorted by name ("" — none ran — first). Pure.
    static func byFunction(_ dead: [DeliveryInfo]) -> [DeadLetters] {
        var counts: [String: Int] = [:]
        for d in dead { counts[d.function ?? "", default: 0] += 1 }
        return counts.keys.sorted().map { DeadLetters(function: $0, count: counts[$0]!) }
    }

    /// The `count` deliveries whose latest state carries an error, newest first. Pure.
    static func latestErrors(_ candidates: [DeliveryInfo], count: Int) -> [ErrorEntry] {
        let withError = candidates.filter { $0.lastError != nil }
        return withError.sorted { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) }.prefix(count).map {
            ErrorEntry(at: $0.updatedAt, id: $0.id, type: $0.type, state: $0.state.rawValue, function: $0.function,
                       attempt: $0.attempt, error: $0.lastError ?? "")
        }
    }

    /// The functions in `table`'s directory and what is wrong with them.
    public mutating func addFunctions(_ table: FunctionTable) {
        var f = Functions(directory: table.directory)
        guard table.exists else {
            f.problems = ["functions directory \(table.directory) does not exist"]
            functions = f
            return
        }
        for r in table.all() {
            var problem: String?
            if let e = r.sidecarError {
                problem = "sidecar unusable (its deliveries fail until it is fixed): \(e)"
            } else if !r.settings.unknownKeys.isEmpty {
                problem = "sidecar has unknown keys (ignored): \(r.settings.unknownKeys.joined(separator: ", "))"
            }
            f.list.append(Function(name: r.name, executable: StatusReport.resolved(r.path), problem: problem))
            if let problem { f.problems.append("\(r.name): \(problem)") }
        }
        for name in table.notExecutable() {
            f.problems.append("\(name): not executable (chmod +x \(name)); its deliveries are skipped or go to the next match")
        }
        for c in table.directoryRoutes().table.conflicts() { f.problems.append("ROUTE CONFLICT: \(c.problem)") }
        functions = f
    }

    /// `path` with its symlinks resolved (itself when that fails).
    static func resolved(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// The JWKS as `JWKSStatus` describes it.
    public mutating func addJWKS(_ s: JWKSStatus) {
        jwks = JWKS(source: s.location, state: s.stateName, keys: s.keys, ageSeconds: s.age.map { Int($0.rounded()) }, error: s.lastError)
    }
}
