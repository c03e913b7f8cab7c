import HookSupport

/// What the host counted at one moment: counters as totals since start (rates come from two
/// samples), gauges as they were. Pure data.
public struct ConsoleSample: Sendable, Equatable {
    public var at: Double
    /// `hookhost_deliveries_total{outcome="accepted"}`.
    public var accepted: Double = 0
    /// `hookhost_runs_total` by function, then outcome.
    public var runs: [String: [String: Double]] = [:]
    public var queueDepth = 0
    public var oldestUnfinishedAge: Double = 0
    public var deadLetters = 0
    /// `hookhost_fetch_bytes_total`.
    public var fetchBytes: Double = 0

    public init(at: Double) { self.at = at }

    /// Run outcomes, every function together.
    public var runsByOutcome: [String: Double] {
        var out: [String: Double] = [:]
        for (_, byOutcome) in runs { for (o, n) in byOutcome { out[o, default: 0] += n } }
        return out
    }

    /// The outcomes of `hookhost_runs_total`, in the order charts draw them.
    public static let outcomes = ["ok", "retry", "failed", "timeout", "dead", "skipped"]
    /// The outcomes that count as errors in a function's error rate.
    public static let errorOutcomes: Set<String> = ["failed", "timeout", "dead"]

    /// `{function="a",outcome="ok"}` → ["function": "a", "outcome": "ok"] (Prometheus escaping
    /// undone); the inverse of `Metrics.render`.
    public static func labels(_ rendered: String) -> [String: String] {
        // By scalars, not Characters: a value starting with a combining mark would join the
        // opening quote into one Character and lose its first scalar.
        let c = Array(rendered.unicodeScalars)
        var out: [String: String] = [:]
        var i = c.first == "{" ? 1 : 0
        while i < c.count, c[i] != "}" {
            var name = String.UnicodeScalarView()
            while i < c.count, c[i] != "=" { name.append(c[i]); i += 1 }
            i += 2  // `="`
            var value = String.UnicodeScalarView()
            while i < c.count, c[i] != "\"" {
                if c[i] == "\\", i + 1 < c.count {
                    i += 1
                    value.append(c[i] == "n" ? "\n" : c[i])
                } else {
                    value.append(c[i])
                }
                i += 1
            }
            out[String(name)] = String(value)
            i += 1  // the closing quote
            if i < c.count, c[i] == "," { i += 1 }
        }
        return out
    }
}

/// The last `capacity` samples, oldest first once read: a fixed amount of memory however long
/// the host runs (360 samples of one every 10 s: the last hour).
public struct SampleRing: Sendable {
    public let capacity: Int
    private var items: [ConsoleSample] = []
    /// Where the oldest sample is once the ring is full.
    private var start = 0

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public mutating func append(_ s: ConsoleSample) {
        if items.count < capacity { items.append(s); return }
        items[start] = s
        start = (start + 1) % capacity
    }

    public var count: Int { items.count }

    /// Oldest first.
    public var ordered: [ConsoleSample] { Array(items[start...] + items[..<start]) }
}

/// Per-second rates between samples and the JSON the overview draws. Pure.
public enum ConsoleRates {
    /// Per second between two readings of a counter; nil without time between them. A counter
    /// that went down (it cannot within one process) reads as 0, never as a negative rate.
    public static func perSecond(_ from: Double, _ to: Double, seconds: Double) -> Double? {
        guard seconds > 0 else { return nil }
        return max(0, to - from) / seconds
    }

    /// `{"interval_s":…,"samples":[{at,accepted_per_s,runs_per_s:{outcome:…},queue_depth,
    /// oldest_unfinished_age_s,dead_letters,download_bytes_per_s}]}`: one point per sample after
    /// the first (a rate needs two), gauges as read.
    public static func json(_ samples: [ConsoleSample], interval: Double) -> [UInt8] {
        var w = JSONWriter(reserve: 256 + samples.count * 200)
        w.beginObject()
        w.key("interval_s"); w.double(interval)
        w.key("samples"); w.beginArray()
        for (a, b) in zip(samples, samples.dropFirst()) {
            let dt = b.at - a.at
            w.beginObject()
            w.key("at"); w.double((b.at * 1000).rounded() / 1000)
            w.key("accepted_per_s"); number(perSecond(a.accepted, b.accepted, seconds: dt), &w)
            w.key("runs_per_s"); w.beginObject()
            let (ra, rb) = (a.runsByOutcome, b.runsByOutcome)
            for o in ConsoleSample.outcomes { w.key(o); number(perSecond(ra[o] ?? 0, rb[o] ?? 0, seconds: dt), &w) }
            w.endObject()
            w.field("queue_depth", b.queueDepth)
            w.key("oldest_unfinished_age_s"); w.double(b.oldestUnfinishedAge)
            w.field("dead_letters", b.deadLetters)
            w.key("download_bytes_per_s"); number(perSecond(a.fetchBytes, b.fetchBytes, seconds: dt), &w)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    private static func number(_ v: Double?, _ w: inout JSONWriter) {
        if let v { w.double((v * 1000).rounded() / 1000) } else { w.null() }
    }

    /// A function's runs between two samples: (runs that ended, of which errors) — the error rate
    /// of the last hour when `from` is the oldest sample and `to` now.
    public static func runs(of function: String, from: ConsoleSample?, to: ConsoleSample) -> (runs: Double, errors: Double) {
        let a = from?.runs[function] ?? [:], b = to.runs[function] ?? [:]
        var runs = 0.0, errors = 0.0
        for o in ConsoleSample.outcomes where o != "skipped" {
            let n = max(0, (b[o] ?? 0) - (a[o] ?? 0))
            runs += n
            if ConsoleSample.errorOutcomes.contains(o) { errors += n }
        }
        return (runs, errors)
    }
}
