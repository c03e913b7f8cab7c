import Synchronization
import HookSupport
import HookFetch
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// The metrics Dispatch owns: runs, their durations, dead letters and result downloads.
extension Metrics {
    /// Registers Dispatch's metric families (HELP text, series that exist at zero).
    func describeDispatch() {
        describe("hookhost_runs_total", "Function runs by function and outcome (ok, retry, failed, timeout, dead, skipped).")
        // Skips have no function; every known function gets its series in `declareFunction`.
        add("hookhost_runs_total", labels: [("function", ""), ("outcome", RunOutcome.skipped.rawValue)], 0)
        describe("hookhost_run_seconds", "Duration of function runs in seconds.")
        describe("hookhost_dead_letters_total",
                 "Deliveries dead-lettered, by function (\"\" when none ran), since start; result downloads that failed for good included.")
        describe("hookhost_fetch_bytes_total", "Bytes of results downloaded.")
        add("hookhost_fetch_bytes_total", labels: [], 0)
        describe(FetchStage.noSpaceMetric, "Result downloads put off because the disk was too full (re-queued, no attempt spent).")
        describe(FetchStage.durationMetric, "Duration of result downloads in seconds, whatever their outcome.")
        declareHistogram(FetchStage.durationMetric, labels: [])
        describe(FetchStage.outcomeMetric, "Result downloads by outcome (ok, failed, final, no_space).")
        describe("hookhost_emitted_total", "Events emitted by functions (HOOKHOST_EMIT) and stored, by type (past 200 types: other).")
    }

    /// Counts a run by its outcome and records its duration.
    func run(function: String, outcome: RunOutcome, seconds: Double?) {
        add("hookhost_runs_total", labels: [("function", function), ("outcome", outcome.rawValue)])
        if let seconds { observe("hookhost_run_seconds", labels: [("function", function)], seconds) }
    }

    /// Counts a delivery dead-lettered while `function` was its function.
    func deadLetter(function: String) {
        add("hookhost_dead_letters_total", labels: [("function", function)])
    }

    /// The series of one function at zero: its runs by every outcome a run of it can have, and
    /// its dead letters. An alert on `increase(...)` then sees the first one (a series that
    /// appears with value 1 has no increase).
    func declareFunction(_ name: String) {
        for o in RunOutcome.allCases where o != .skipped {
            add("hookhost_runs_total", labels: [("function", name), ("outcome", o.rawValue)], 0)
        }
        add("hookhost_dead_letters_total", labels: [("function", name)], 0)
    }
}

/// Gives every function in the directory its zero series: at start, and at each scrape for
/// functions added (or made executable) since.
final class FunctionSeries: Sendable {
    private let table: FunctionTable
    private let metrics: Metrics
    private let declared = Mutex<Set<String>>([])

    init(table: FunctionTable, metrics: Metrics) {
        self.table = table
        self.metrics = metrics
    }

    /// The functions declared so far (every executable seen in the directory since start).
    var names: [String] { declared.withLock { Array($0) } }

    /// Declares the executables not declared yet. A removed function keeps its series: counters
    /// do not go back, and its past runs stay visible.
    func refresh() {
        let names = table.routableNames().filter { FunctionTable.isExecutableFile(table.directory + "/" + $0) }
        let new = declared.withLock { seen in names.filter { seen.insert($0).inserted } }
        for name in new { metrics.declareFunction(name) }
    }
}
