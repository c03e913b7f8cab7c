import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// What a function actually runs with: its sidecar's values, else the host's settings. Shown by
/// `hookhost functions` so an operator never has to look up what "default" means.
public struct EffectiveSettings: Sendable {
    public let timeout: Double
    /// The sidecar's limit, else the worker count (no function can run more at once).
    public let maxConcurrency: Int
    public let maxAttempts: Int
    public let retryLaterFor: Double
    public let fetch: Bool
    /// The sidecar keys that set a value here.
    public let fromSidecar: [String]

    public init(_ s: FunctionSettings, host: HostConfig) {
        timeout = s.timeout ?? host.dispatch.functionTimeout
        maxConcurrency = min(s.maxConcurrency ?? host.dispatch.workers, host.dispatch.workers)
        maxAttempts = s.maxAttempts ?? host.dispatch.retry.maxAttempts
        retryLaterFor = s.retryLaterFor ?? host.dispatch.retryLaterFor
        fetch = s.fetch ?? true
        var from: [String] = []
        if s.timeout != nil { from.append("timeout") }
        if s.maxConcurrency != nil { from.append("max_concurrency") }
        if s.maxAttempts != nil { from.append("max_attempts") }
        if s.retryLaterFor != nil { from.append("retry_later_for") }
        if s.fetch != nil { from.append("fetch") }
        if s.concurrency != nil { from.append("concurrency") }
        if s.rate != nil { from.append("rate") }
        fromSidecar = from
    }
}
