/// `# HELP` text of every metric the host exports, so a scrape explains itself (and the reference
/// can be checked against it). A metric without an entry gets no HELP line, never a wrong one.
extension Metrics {
    public static let helpText: [String: String] = [
        "hookhost_deliveries_total": "Answers to webhook deliveries by outcome (accepted, duplicate, unauthorized, invalid, too_large, unavailable).",
        "hookhost_runs_total": "Function runs by function and outcome (ok, retry, failed, timeout, dead, skipped).",
        "hookhost_run_seconds": "Duration of function runs in seconds.",
        "hookhost_fetch_bytes_total": "Bytes of results downloaded.",
        "hookhost_fetch_no_space_total": "Result downloads put off because the disk was too full (re-queued, no attempt spent).",
        "hookhost_jwks_fetches_total": "JWKS fetches by outcome (ok, error).",
        "hookhost_dead_letters_total": "Deliveries dead-lettered, by function (\"\" when none ran), since start.",
        "hookhost_queue_depth": "Unfinished deliveries, waiting retries included.",
        "hookhost_dead_letters": "Dead letters now.",
        "hookhost_running": "Deliveries whose function is running now.",
        "hookhost_retry_scheduled": "Deliveries waiting for a retry now.",
        "hookhost_oldest_unfinished_age_seconds": "Age of the oldest unfinished delivery in seconds (0 when none).",
        "hookhost_spool_bytes": "Size of the spool log file in bytes (disk use: allocated ahead of its records in 8 MB steps).",
        "hookhost_build_info": "Version and commit of this build (value 1).",
        "hookhost_jwks_keys": "Usable keys in the JWKS.",
        "hookhost_jwks_failing": "1 while JWKS fetches fail and the last good keys are used.",
        "hookhost_jwks_age_seconds": "Seconds since the last good JWKS fetch (-1 before the first).",
    ]

    /// `# HELP` and `# TYPE` lines for one metric family.
    static func header(_ name: String, _ type: String) -> String {
        (helpText[name].map { "# HELP \(name) \($0)\n" } ?? "") + "# TYPE \(name) \(type)\n"
    }
}

/// What this build is, for `hookhost version` and `hookhost_build_info`.
public enum BuildInfo {
    public static let version = "0.2.0"
    /// Set by the build when it knows (`HOOKHOST_COMMIT` in the environment at start, e.g. from a
    /// container label); SwiftPM has no build-time variables without plugins.
    public static var commit: String { FileSystem.env("HOOKHOST_COMMIT") ?? "unknown" }
}
