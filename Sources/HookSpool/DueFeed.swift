import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Where a store sends the ids of deliveries as they fall due; the scheduler that owns it
/// (Dispatch's `WorkQueue`) decides who runs them and when. Entries may go stale (a delivery
/// purged or replayed meanwhile): the taker checks each one against the store.
public protocol DueFeed: AnyObject, Sendable {
    /// `id` is due now.
    func due(_ id: String)
    /// `id` falls due at `at` (a retry's backoff).
    func due(_ id: String, at: Double)
}
