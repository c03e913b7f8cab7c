import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Gauges an operator alerts on, sampled at scrape time from the spool: what is running, what
/// waits for a retry, how old the oldest unfinished delivery is (a stuck queue shows here first),
/// how large the spool log is, and which build runs.
enum OperatorGauges {
    static func sample(spool: any DeliveryStore, spoolLog: String, now: Double) -> [(String, Double)] {
        let u = spool.unfinishedSummary()
        var st = stat()
        let bytes = stat(spoolLog, &st) == 0 ? Double(st.st_size) : 0
        return [("hookhost_running", Double(u.running)),
                ("hookhost_retry_scheduled", Double(u.retryScheduled)),
                ("hookhost_oldest_unfinished_age_seconds", u.oldestReceivedAt.map { max(0, (now - $0).rounded()) } ?? 0),
                ("hookhost_spool_bytes", bytes),
                ("hookhost_build_info" + Metrics.render([("version", BuildInfo.version), ("commit", BuildInfo.commit)]), 1)]
    }
}
