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
    /// HELP texts of the gauges the app samples (its own, the spool's and the JWKS cache's).
    static let help: [(String, String)] = [
        ("hookhost_queue_depth", "Unfinished deliveries, waiting retries included."),
        ("hookhost_dead_letters", "Dead letters now."),
        ("hookhost_running", "Deliveries whose function is running now."),
        ("hookhost_retry_scheduled", "Deliveries waiting for a retry now."),
        ("hookhost_oldest_unfinished_age_seconds", "Age of the oldest unfinished delivery in seconds (0 when none)."),
        ("hookhost_spool_bytes", "Size of the spool log file in bytes (disk use: allocated ahead of its records in 8 MB steps)."),
        ("hookhost_build_info", "Version and commit of this build (value 1)."),
        ("hookhost_jwks_keys", "Usable keys in the JWKS."),
        ("hookhost_jwks_failing", "1 while JWKS fetches fail and the last good keys are used."),
        ("hookhost_jwks_age_seconds", "Seconds since the last good JWKS fetch (-1 before the first)."),
        ("hookhost_ready", "1 while the host is ready (/readyz answers 200), 0 while it is not (draining, spool not writable, functions directory missing, nothing to verify with)."),
        ("hookhost_disk_free_bytes", "Bytes free for the host on the file system holding the data directory."),
        ("hookhost_disk_size_bytes", "Size of the file system holding the data directory in bytes."),
    ]

    /// Registers the gauges' HELP texts.
    static func describe(in metrics: Metrics) {
        for (name, text) in help { metrics.describe(name, text) }
    }

    /// Free and total bytes of the data directory's file system (nothing when it cannot be asked):
    /// the spool, results and work directories all live there.
    static func disk(_ dataDir: String) -> [(String, Double)] {
        var fs = statvfs()
        guard statvfs(dataDir, &fs) == 0 else { return [] }
        let unit = Double(fs.f_frsize)
        return [("hookhost_disk_free_bytes", Double(fs.f_bavail) * unit), ("hookhost_disk_size_bytes", Double(fs.f_blocks) * unit)]
    }

    static func sample(spool: any DeliveryQueries, spoolLog: String, now: Double) -> [(String, Double)] {
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
