import Glibc

/// Gauges an operator alerts on, sampled at scrape time from the spool: what is running, what
/// waits for a retry, how old the oldest unfinished delivery is (a stuck queue shows here first),
/// how large the spool log is, and which build runs.
enum OperatorGauges {
    static func sample(spool: any DeliveryStore, spoolLog: String, now: Double) -> [(String, Double)] {
        // Scans the index (a filter per state); scrapes come every few seconds at most.
        let running = spool.list(state: .running, type: nil)
        let retrying = spool.list(state: .retryScheduled, type: nil)
        let received = spool.list(state: .received, type: nil)
        // `list` is oldest first, so the first of each is its oldest.
        let oldest = [running.first, retrying.first, received.first].compactMap { $0?.receivedAt }.min()
        var st = stat()
        let bytes = stat(spoolLog, &st) == 0 ? Double(st.st_size) : 0
        return [("hookhost_running", Double(running.count)),
                ("hookhost_retry_scheduled", Double(retrying.count)),
                ("hookhost_oldest_unfinished_age_seconds", oldest.map { max(0, (now - $0).rounded()) } ?? 0),
                ("hookhost_spool_bytes", bytes),
                ("hookhost_build_info" + Metrics.render([("version", BuildInfo.version), ("commit", BuildInfo.commit)]), 1)]
    }
}
