import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Why deliveries of a function wait without a worker and without a start record: the label
/// `reason` of `hookhost_waiting{function,reason}`. Every case is rendered for every function
/// (at zero when none waits), so a new reason is a new case and its count in
/// `Dispatcher.registerWaitingGauge`.
public enum WaitReason: String, CaseIterable, Sendable {
    /// All of the function's `max_concurrency` slots are taken.
    case concurrency
    /// The delivery's concurrency key runs `concurrency.limit` already.
    case key
    /// The rate limit allows no more starts in the current window.
    case rate
}
