import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// A job-completion event's identity apart from its webhook-id: its canonical type and the job it
/// is about. `hookhost reconcile` synthesizes the events Gemini never delivered; this is how a
/// synthesized event and a real delivery of the same completion recognise each other.
public struct JobKey: Hashable, Sendable {
    /// `type`, a NUL, then the job's id: compared and hashed by bytes (`ExactKey`).
    let exact: ExactKey

    /// Only completion events of jobs take part: `batch.*`, `video.*`, `interaction.*` with a
    /// `data.id`. The job is matched on the last segment of its name (Gemini sends `data.id`
    /// with or without its collection prefix: `batches/abc` and `abc` are one job).
    public init?(type: String, job: String?) {
        guard JobKey.isJobType(type), let job else { return nil }
        let id = job.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(job[job.index(after: $0)...]) } ?? job
        guard !id.isEmpty else { return nil }
        exact = ExactKey(EventType.canonical(type) + "\u{0}" + id)
    }

    public static func isJobType(_ type: String) -> Bool {
        ["batch.", "video.", "interaction."].contains { type.hasPrefix($0) && type.utf8.count > $0.utf8.count }
    }

    /// A stable 64-bit digest (the first 8 bytes of SHA-256): what is kept for every real
    /// delivery, and written to the log, so it must not change between runs (`Hasher` is seeded).
    public var digest: UInt64 {
        Crypto.sha256(Array(exact.string.utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Which job completions the store has admitted, for as long as their delivery's id is
/// remembered (the dedup TTL). Pure: no locks, no I/O.
///
/// Deduplication by job is only between a synthesized (`reconcile`) event and a real delivery;
/// two real deliveries of one completion under different webhook-ids both run, as before. So
/// real deliveries are kept as digests (a collision can only keep a synthesized event out,
/// never drop a real delivery), and synthesized ones exactly, with their id for the log.
public struct JobIndex: Sendable, Equatable {
    /// Digest of the key of each real delivery → when the last one arrived.
    private(set) var real: [UInt64: Double] = [:]
    /// Each synthesized event's key → its id and arrival.
    private(set) var recovered: [JobKey: Recovered] = [:]
    /// No entry was seen before this: a prune with an earlier cutoff has nothing to do (most
    /// housekeeping passes), so it does not walk the index.
    private var oldest = Double.infinity

    public static func == (a: JobIndex, b: JobIndex) -> Bool { a.real == b.real && a.recovered == b.recovered }

    public struct Recovered: Sendable, Equatable {
        public var id: String
        public var at: Double
    }

    public init() {}

    public var count: Int { real.count + recovered.count }

    /// Notes an admitted delivery (or one read back from the log).
    public mutating func note(_ key: JobKey, id: String, reconcile: Bool, at: Double) {
        if reconcile {
            if let known = recovered[key], known.at >= at { return }
            recovered[key] = Recovered(id: id, at: at)
            oldest = min(oldest, at)
        } else {
            noteReal(key.digest, at: at)
        }
    }

    mutating func noteReal(_ digest: UInt64, at: Double) {
        real[digest] = max(real[digest] ?? at, at)
        oldest = min(oldest, at)
    }

    /// The synthesized event a delivery of `key` would repeat, if there is one.
    public func recoveredBy(_ key: JobKey) -> Recovered? { recovered[key] }

    /// Whether a synthesized event for `key` adds nothing: a delivery of it is known already.
    public func knows(_ key: JobKey) -> Bool { recovered[key] != nil || real[key.digest] != nil }

    /// Drops what was seen before `cutoff` (the dedup TTL, as for ids); returns how many went.
    @discardableResult
    public mutating func prune(before cutoff: Double) -> Int {
        guard cutoff > oldest else { return 0 }
        let n = count
        // In place: a filtered copy would allocate the whole index again on every pass.
        for (k, at) in real where at < cutoff { real[k] = nil }
        for (k, r) in recovered where r.at < cutoff { recovered[k] = nil }
        oldest = min(real.values.min() ?? .infinity, recovered.values.map(\.at).min() ?? .infinity)
        return n - count
    }

    /// Every entry as a log record (compaction: a delivery's own record may be gone by now).
    func records() -> [SpoolRecord] {
        real.map { .job(JobMark(digest: $0.key, at: $0.value)) }
            + recovered.map { .job(JobMark(digest: $0.key.digest, at: $0.value.at, recovered: (key: $0.key, id: $0.value.id))) }
    }

    mutating func load(_ mark: JobMark) {
        if let r = mark.recovered { note(r.key, id: r.id, reconcile: true, at: mark.at) } else { noteReal(mark.digest, at: mark.at) }
    }
}

/// One entry of the job index in the log (`{"k":"job",…}`), written by compaction.
public struct JobMark: Sendable, Equatable {
    public var digest: UInt64
    public var at: Double
    /// Set for a synthesized event: its exact key and id.
    public var recovered: (key: JobKey, id: String)?

    public init(digest: UInt64, at: Double, recovered: (key: JobKey, id: String)? = nil) {
        self.digest = digest; self.at = at; self.recovered = recovered
    }

    public static func == (a: JobMark, b: JobMark) -> Bool {
        a.digest == b.digest && a.at == b.at && a.recovered?.key == b.recovered?.key && a.recovered?.id == b.recovered?.id
    }

    func write(into meta: inout JSONWriter) {
        meta.field("k", "job")
        meta.field("h", String(digest, radix: 16))
        meta.key("at"); meta.double(at)
        if let r = recovered {
            meta.field("key", r.key.exact.string); meta.field("id", r.id)
        }
    }

    init?(meta: JSON) {
        guard let h = meta["h"]?.stringValue, let digest = UInt64(h, radix: 16), let at = meta["at"]?.doubleValue else { return nil }
        self.digest = digest
        self.at = at
        if let key = meta["key"]?.stringValue, let id = meta["id"]?.stringValue {
            let parts = key.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let k = JobKey(type: String(parts[0]), job: String(parts[1])) else { return nil }
            recovered = (k, id)
        }
    }
}
