import Synchronization

/// Prometheus counters, gauges and one histogram, rendered in the text exposition format.
/// Metric names are part of the contract (CONTRACT §7).
public final class Metrics: Sendable {
    private struct State {
        var counters: [String: [String: Double]] = [:]  // name → rendered labels → value
        var histogramBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
        var histogram: [String: (counts: [Int], sum: Double, count: Int)] = [:]
        /// hookhost_deliveries_total by `Metrics.outcomes` index: counted on every request, so
        /// without rendering labels or hashing strings.
        var deliveries = [Double](repeating: 0, count: Metrics.outcomes.count)
    }
    /// The delivery outcomes (CONTRACT §7), pre-registered so dashboards see zeros instead of gaps.
    static let outcomes = ["accepted", "duplicate", "unauthorized", "invalid", "too_large", "unavailable"]
    private let state = Mutex(State())
    private let gauges: @Sendable () -> [(String, Double)]

    /// `gauges` is sampled at scrape time (queue depth, dead letters).
    public init(gauges: @escaping @Sendable () -> [(String, Double)] = { [] }) {
        self.gauges = gauges
        add("hookhost_fetch_bytes_total", labels: [], 0)
    }

    /// Adds `value` to a counter.
    public func add(_ name: String, labels: [(String, String)], _ value: Double = 1) {
        let key = Metrics.render(labels)
        state.withLock { $0.counters[name, default: [:]][key, default: 0] += value }
    }

    /// Counts a delivery answer by outcome.
    public func delivery(_ outcome: String) {
        guard let i = Metrics.outcomes.firstIndex(of: outcome) else { return add("hookhost_deliveries_total", labels: [("outcome", outcome)]) }
        state.withLock { $0.deliveries[i] += 1 }
    }

    /// Counts a run by its outcome label (`ok`, `failed`, …; CONTRACT §7) and records its duration.
    public func run(function: String, outcomeLabel: String, seconds: Double?) {
        add("hookhost_runs_total", labels: [("function", function), ("outcome", outcomeLabel)])
        guard let seconds else { return }
        let key = Metrics.render([("function", function)])
        state.withLock { s in
            var h = s.histogram[key] ?? (Array(repeating: 0, count: s.histogramBuckets.count), 0, 0)
            for (i, b) in s.histogramBuckets.enumerated() where seconds <= b { h.counts[i] += 1 }
            h.sum += seconds
            h.count += 1
            s.histogram[key] = h
        }
    }

    /// The exposition text.
    public func render() -> String {
        var out = ""
        state.withLock { s in
            var counters = s.counters
            for (o, v) in zip(Metrics.outcomes, s.deliveries) { counters["hookhost_deliveries_total", default: [:]][Metrics.render([("outcome", o)]), default: 0] += v }
            for name in counters.keys.sorted() {
                out += Metrics.header(name, "counter")
                for (labels, v) in counters[name]!.sorted(by: { $0.key < $1.key }) { out += "\(name)\(labels) \(Metrics.number(v))\n" }
            }
            out += Metrics.header("hookhost_run_seconds", "histogram")
            for (labels, h) in s.histogram.sorted(by: { $0.key < $1.key }) {
                let inner = labels.dropFirst().dropLast()
                for (i, b) in s.histogramBuckets.enumerated() {
                    out += "hookhost_run_seconds_bucket{\(inner),le=\"\(Metrics.number(b))\"} \(h.counts[i])\n"
                }
                out += "hookhost_run_seconds_bucket{\(inner),le=\"+Inf\"} \(h.count)\n"
                out += "hookhost_run_seconds_sum\(labels) \(h.sum)\nhookhost_run_seconds_count\(labels) \(h.count)\n"
            }
        }
        // A gauge's name may carry labels (`name{k="v"}`): one HELP/TYPE per family, before its first sample.
        var seen: Set<String> = []
        for (name, v) in gauges() {
            let family = String(name.prefix { $0 != "{" })
            if seen.insert(family).inserted { out += Metrics.header(family, "gauge") }
            out += "\(name) \(Metrics.number(v))\n"
        }
        return out
    }

    package static func render(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        let parts = labels.map { k, v -> String in
            if !v.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) { return "\(k)=\"\(v)\"" }
            let esc = v.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n")
            return "\(k)=\"\(esc)\""
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
}

extension String {
    /// Replaces every occurrence of `target` (no Foundation needed).
    public func replacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
