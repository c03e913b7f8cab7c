import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Settings of the worker pool.
public struct DispatcherConfig: Sendable {
    public var workers = 2
    public var functionTimeout: Double = 300
    public var retry = RetryPolicy()
    /// Parent of the per-run scratch directories.
    public var workRoot: String
    /// PATH, HOME and LANG for functions.
    public var baseEnvironment: [String]
    /// Nice value of the worker threads, inherited by the functions they start: background work
    /// yields the CPU to acknowledging deliveries.
    public var nice: Int32? = 5
    /// Owner of the per-run scratch directories: the user functions run as (nil: the host's).
    public var functionUser: FunctionUser?
    /// A uid per function (`HOOKHOST_FUNCTION_UIDS`); when set, `functionUser` is nil.
    public var functionIdentities: FunctionIdentities?
    /// First delay before re-running a delivery whose function could not start for lack of
    /// descriptors, processes or memory; doubles (jittered) while the shortage lasts, up to the
    /// retry cap. Such a delivery spends no attempt.
    public var shortageRetryDelay: Double = 1
    /// Seconds a delivery may keep answering exit 75 ("not ready yet") before it is
    /// dead-lettered (a sidecar's `retry_later_for` wins).
    public var retryLaterFor: Double = 86_400
    /// Host variables a sidecar's `pass_env` may hand to its function, captured once at start
    /// (never `HOOKHOST_*`: those hold the host's settings and webhook secrets).
    public var passableEnvironment: [String: String] = [:]
    /// What one run may emit (`HOOKHOST_MAX_EMIT`, `HOOKHOST_MAX_DEPTH`).
    public var emit = EmitLimits()
    public init(workRoot: String, baseEnvironment: [String]) {
        self.workRoot = workRoot
        self.baseEnvironment = baseEnvironment
    }
}
