import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
extension Metrics {
    /// Counts a run and records its duration (Metrics lives below Dispatch, so it takes the label).
    func run(function: String, outcome: RunOutcome, seconds: Double?) {
        run(function: function, outcomeLabel: outcome.rawValue, seconds: seconds)
    }
}
