import HookSupport
import HookFetch
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// The metrics Dispatch owns: runs, their durations, dead letters and downloaded bytes.
extension Metrics {
    /// Registers Dispatch's metric families (HELP text, series that exist at zero).
    func describeDispatch() {
        describe("hookhost_runs_total", "Function runs by function and outcome (ok, retry, failed, timeout, dead, skipped).")
        describe("hookhost_run_seconds", "Duration of function runs in seconds.")
        describe("hookhost_dead_letters_total", "Deliveries dead-lettered, by function (\"\" when none ran), since start.")
        describe("hookhost_fetch_bytes_total", "Bytes of results downloaded.")
        add("hookhost_fetch_bytes_total", labels: [], 0)
        describe(FetchStage.noSpaceMetric, "Result downloads put off because the disk was too full (re-queued, no attempt spent).")
    }

    /// Counts a run by its outcome and records its duration.
    func run(function: String, outcome: RunOutcome, seconds: Double?) {
        add("hookhost_runs_total", labels: [("function", function), ("outcome", outcome.rawValue)])
        if let seconds { observe("hookhost_run_seconds", labels: [("function", function)], seconds) }
    }
}
