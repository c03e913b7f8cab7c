import Synchronization

/// Prometheus counters, gauges and histograms, rendered in the text exposition format.
/// A registry only: the layer that owns a metric names it, registers its HELP text and any series
/// that must exist at zero (so dashboards see zeros instead of gaps).
public final class Metrics: Sendable {
    private struct State {
        var counters: [String: [String: Double]] = [:]  // name → rendered labels → value
        var histograms: [String: [String: (counts: [Int], sum: Double, count: Int)]] = [:]  // name → labels → data
        var help: [String: String] = [:]
        /// Pre-registered families counted by index (the hot path: no label rendering, no hashing).
        var indexed: [(name: String, label: String, values: [String], counts: [Double])] = []
        /// Counters kept elsewhere (a component's own atomic), read at scrape time.
        var sampled: [(name: String, read: @Sendable () -> Double)] = []
        /// Gauges a component samples itself at scrape time, rendered with `gauges`.
        var sampledGauges: [@Sendable () -> [(String, Double)]] = []
        /// Run before each render, outside the lock: owners add series that must exist by then
        /// (e.g. a function added to the directory since the last scrape, at zero).
        var preparers: [@Sendable () -> Void] = []
    }
    /// Upper bounds of every histogram's buckets, in seconds.
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
    private let state = Mutex(State())
    private let gauges: @Sendable () -> [(String, Double)]

    /// `gauges` is sampled at scrape time (queue depth, dead letters).
    public init(gauges: @escaping @Sendable () -> [(String, Double)] = { [] }) {
        self.gauges = gauges
    }

    /// Registers the `# HELP` text of a metric family (a family without one gets no HELP line).
    public func describe(_ name: String, _ help: String) {
        state.withLock { $0.help[name] = help }
    }

    /// The registered HELP texts (tests check the reference against them).
    public var helpText: [String: String] { state.withLock { $0.help } }

    /// Adds `value` to a counter.
    public func add(_ name: String, labels: [(String, String)], _ value: Double = 1) {
        let key = Metrics.render(labels)
        state.withLock { $0.counters[name, default: [:]][key, default: 0] += value }
    }

    /// A counter family with one label whose values are known up front: every series exists at
    /// zero from the start, and counting is an index, not a label lookup.
    public func indexedCounter(_ name: String, label: String, values: [String]) -> IndexedCounter {
        state.withLock { s in
            s.indexed.append((name, label, values, Array(repeating: 0, count: values.count)))
            return IndexedCounter(metrics: self, family: s.indexed.count - 1, values: values)
        }
    }

    /// A counter kept by its owner (e.g. an atomic in a lower layer), read at scrape time.
    public func sampledCounter(_ name: String, _ read: @escaping @Sendable () -> Double) {
        state.withLock { $0.sampled.append((name, read)) }
    }

    /// Gauges (`name{labels}` → value) that `read` samples at each scrape, for a component made
    /// after the registry (the owner of `gauges` need not know them).
    public func sampledGauges(_ read: @escaping @Sendable () -> [(String, Double)]) {
        state.withLock { $0.sampledGauges.append(read) }
    }

    /// Makes a histogram series exist with no observations (every bucket 0), so a rate over it
    /// is 0 rather than missing before the first one. A series that exists is left as it is.
    public func declareHistogram(_ name: String, labels: [(String, String)]) {
        let key = Metrics.render(labels)
        state.withLock { s in
            if s.histograms[name]?[key] == nil { s.histograms[name, default: [:]][key] = (Array(repeating: 0, count: Metrics.buckets.count), 0, 0) }
        }
    }

    /// Runs `prepare` before every render (on the scraping thread, without the registry's lock
    /// held, so it may add series).
    public func beforeRender(_ prepare: @escaping @Sendable () -> Void) {
        state.withLock { $0.preparers.append(prepare) }
    }

    fileprivate func addIndexed(family: Int, value: Int) {
        state.withLock { $0.indexed[family].counts[value] += 1 }
    }

    /// Records one observation (seconds) in a histogram.
    public func observe(_ name: String, labels: [(String, String)], _ value: Double) {
        let key = Metrics.render(labels)
        state.withLock { s in
            var h = s.histograms[name, default: [:]][key] ?? (Array(repeating: 0, count: Metrics.buckets.count), 0, 0)
            for (i, b) in Metrics.buckets.enumerated() where value <= b { h.counts[i] += 1 }
            h.sum += value
            h.count += 1
            s.histograms[name, default: [:]][key] = h
        }
    }

    /// The exposition text.
    public func render() -> String {
        for prepare in state.withLock({ $0.preparers }) { prepare() }
        var out = ""
        var help: [String: String] = [:]
        state.withLock { s in
            help = s.help
            var counters = s.counters
            for f in s.indexed {
                for (v, n) in zip(f.values, f.counts) { counters[f.name, default: [:]][Metrics.render([(f.label, v)]), default: 0] += n }
            }
            for f in s.sampled { counters[f.name, default: [:]][""] = f.read() }
            for name in counters.keys.sorted() {
                out += Metrics.header(name, "counter", help)
                for (labels, v) in counters[name]!.sorted(by: { $0.key < $1.key }) { out += "\(name)\(labels) \(Metrics.number(v))\n" }
            }
            for name in s.histograms.keys.sorted() {
                out += Metrics.header(name, "histogram", help)
                for (labels, h) in s.histograms[name]!.sorted(by: { $0.key < $1.key }) {
                    let inner = labels.dropFirst().dropLast()
                    let sep = inner.isEmpty ? "" : ","
                    for (i, b) in Metrics.buckets.enumerated() {
                        out += "\(name)_bucket{\(inner)\(sep)le=\"\(Metrics.number(b))\"} \(h.counts[i])\n"
                    }
                    out += "\(name)_bucket{\(inner)\(sep)le=\"+Inf\"} \(h.count)\n"
                    out += "\(name)_sum\(labels) \(h.sum)\n\(name)_count\(labels) \(h.count)\n"
                }
            }
        }
        // A gauge's name may carry labels (`name{k="v"}`): one HELP/TYPE per family, before its
        // samples, which stay together (the format requires it) even when two samplers add to one
        // family; within a family, in the order sampled.
        var families: [String] = []
        var samples: [String: [(String, Double)]] = [:]
        for read in [gauges] + state.withLock({ $0.sampledGauges }) {
            for (name, v) in read() {
                let family = String(name.prefix { $0 != "{" })
                if samples[family] == nil { families.append(family) }
                samples[family, default: []].append((name, v))
            }
        }
        for family in families {
            out += Metrics.header(family, "gauge", help)
            for (name, v) in samples[family]! { out += "\(name) \(Metrics.number(v))\n" }
        }
        return out
    }

    /// Every series of a counter family now (rendered labels, `{k="v"}` or "", → value), as
    /// `render` would print them: for readers inside the process (the console's samples), which
    /// must not parse the exposition text.
    public func counterValues(_ name: String) -> [String: Double] {
        state.withLock { s in
            var out = s.counters[name] ?? [:]
            for f in s.indexed where f.name == name {
                for (v, n) in zip(f.values, f.counts) { out[Metrics.render([(f.label, v)]), default: 0] += n }
            }
            for f in s.sampled where f.name == name { out[""] = f.read() }
            return out
        }
    }

    /// `# HELP` and `# TYPE` lines for one metric family.
    private static func header(_ name: String, _ type: String, _ help: [String: String]) -> String {
        (help[name].map { "# HELP \(name) \($0)\n" } ?? "") + "# TYPE \(name) \(type)\n"
    }

    /// `{k="v",…}` with Prometheus escaping; "" for no labels.
    public static func render(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        let parts = labels.map { k, v -> String in
            if !v.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) { return "\(k)=\"\(v)\"" }
            // By scalars: String matching is by Characters, and a quote or backslash followed by
            // a combining mark is another Character, left unescaped, which ended the value early.
            // (Function names and types are plain dotted names today; a label value need not be.)
            var esc = String.UnicodeScalarView()
            for c in v.unicodeScalars {
                switch c {
                case "\\": esc.append(contentsOf: "\\\\".unicodeScalars)
                case "\"": esc.append(contentsOf: "\\\"".unicodeScalars)
                case "\n": esc.append(contentsOf: "\\n".unicodeScalars)
                default: esc.append(c)
                }
            }
            return "\(k)=\"\(String(esc))\""
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
}

/// A handle on one `Metrics.indexedCounter` family.
public struct IndexedCounter: Sendable {
    fileprivate let metrics: Metrics
    fileprivate let family: Int
    fileprivate let values: [String]

    /// Counts one event with label value `value`; a value not registered is counted the slow way.
    public func add(_ value: String) {
        if let i = values.firstIndex(of: value) { metrics.addIndexed(family: family, value: i) }
        else { metrics.add(metrics.indexedName(family), labels: [(metrics.indexedLabel(family), value)]) }
    }
}

extension Metrics {
    fileprivate func indexedName(_ family: Int) -> String { state.withLock { $0.indexed[family].name } }
    fileprivate func indexedLabel(_ family: Int) -> String { state.withLock { $0.indexed[family].label } }
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
