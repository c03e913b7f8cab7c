import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// A persisted transition: the new state and what the attempt produced.
public struct StateChange: Sendable, Equatable {
    public var id: String
    public var state: DeliveryState
    public var attempt: Int
    public var at: Double
    public var nextAt: Double?
    public var error: String?
    public var function: String?
    public var exitCode: Int?
    public var durationMs: Int?
    /// The handler's stdout when it was a JSON object, raw.
    public var output: [UInt8]?
    /// The record's metadata object holds the output one level down; recovery parses the whole
    /// record with `JSONParser.maxDepth`.
    public static let maxOutputDepth = JSONParser.maxDepth - 1
    /// The bounded tail of the handler's stderr.
    public var stderrTail: String?
    /// Attempts made before the last replay; the attempt budget counts from here.
    public var attemptBase: Int?
    /// When the function first answered "try again later" (exit 75) in the run of such answers
    /// this one continues; nil once it answered anything else.
    public var retryLaterSince: Double?
    /// The downloaded result (with `fetched`).
    public var result: FetchedResult?
    /// The first bytes of a stdout that was not a JSON object (so not kept as `output`).
    public var stdoutHead: String?

    public init(id: String, state: DeliveryState, attempt: Int, at: Double, nextAt: Double? = nil, error: String? = nil,
                function: String? = nil, exitCode: Int? = nil, durationMs: Int? = nil, output: [UInt8]? = nil, stderrTail: String? = nil) {
        self.id = id; self.state = state; self.attempt = attempt; self.at = at; self.nextAt = nextAt; self.error = error
        self.function = function; self.exitCode = exitCode; self.durationMs = durationMs; self.output = output; self.stderrTail = stderrTail
    }

    /// Whether this record says how an attempt ended (kept in the delivery's attempt history):
    /// not a start (running, fetching), a downloaded result (fetched) or a replay (received).
    var endsAttempt: Bool {
        state == .done || state == .dead || state == .retryScheduled || state == .skipped
    }

    func write(into w: inout JSONWriter) {
        w.field("k", "s"); w.field("id", id); w.field("st", state.rawValue); w.field("a", attempt)
        w.key("t"); w.double(at)
        if let nextAt { w.key("n"); w.double(nextAt) }
        if let error { w.field("e", error) }
        if let function { w.field("f", function) }
        if let exitCode { w.field("x", exitCode) }
        if let durationMs { w.field("ms", durationMs) }
        if let output { w.key("o"); w.raw(output) }
        if let stderrTail { w.field("se", stderrTail) }
        if let attemptBase { w.field("b", attemptBase) }
        if let retryLaterSince { w.key("rl"); w.double(retryLaterSince) }
        if let r = result {
            w.key("r")
            w.beginObject()
            w.field("uri", r.uri); w.field("path", r.path); w.field("bytes", r.bytes); w.field("sha256", r.sha256)
            w.field("ct", optional: r.contentType)
            if let ms = r.fetchMs { w.field("ms", ms) }
            w.endObject()
        }
        if let stdoutHead { w.field("oh", stdoutHead) }
    }

    init?(meta: JSON) {
        guard let id = meta["id"]?.stringValue, let st = DeliveryState(rawValue: meta["st"]?.stringValue ?? ""),
              let a = meta["a"]?.intValue, let t = meta["t"]?.doubleValue else { return nil }
        self.init(id: id, state: st, attempt: a, at: t)
        nextAt = meta["n"]?.doubleValue
        error = meta["e"]?.stringValue
        function = meta["f"]?.stringValue
        exitCode = meta["x"]?.intValue
        durationMs = meta["ms"]?.intValue
        if let m = meta.member("o") {
            var w = JSONWriter(); w.value(m.value); output = w.bytes
        }
        stderrTail = meta["se"]?.stringValue
        attemptBase = meta["b"]?.intValue
        retryLaterSince = meta["rl"]?.doubleValue
        if let r = meta["r"], let uri = r["uri"]?.stringValue, let path = r["path"]?.stringValue,
           let bytes = r["bytes"]?.intValue, let sha = r["sha256"]?.stringValue {
            result = FetchedResult(uri: uri, path: path, bytes: bytes, sha256: sha, contentType: r["ct"]?.stringValue, fetchMs: r["ms"]?.intValue)
        }
        stdoutHead = meta["oh"]?.stringValue
    }
}

extension DeliveryInfo {
    mutating func apply(_ c: StateChange) {
        state = c.state
        attempt = c.attempt
        if let b = c.attemptBase { attemptBase = b }
        retryLaterSince = c.retryLaterSince
        nextAt = c.nextAt
        // Finished deliveries can stay in memory for the whole retention period: keep them small.
        // Their error text stays on disk in the state record (`show` reads it from there).
        if c.state == .received || c.state == .done || c.state == .skipped { lastError = nil } else if let e = c.error { lastError = e }
        if let f = c.function { function = f }
        // A result lives from its download until the delivery is finished or replayed; a retry
        // of the function reuses it.
        result = c.state.isUnfinished && c.state != .received ? c.result : nil
        updatedAt = c.at
    }
}
