import Glibc
import HookSupport
import HookVerify
import HookSpool

/// A finished job as the Gemini API reports it, and the event its webhook would have carried.
/// Pure: the API's JSON in, the synthesized event out (`Reconciler` does the calls).
public struct ReconcileEvent: Sendable, Equatable {
    /// The job's name as the API gives it (`batches/…`, `models/…/operations/…`, an interaction id).
    public var job: String
    /// The API's own word for its state (`BATCH_STATE_SUCCEEDED`, `done`, `completed`).
    public var state: String
    /// The event Gemini sends for it; nil when it sends none (still running, cancelled).
    public var type: String?
    /// When it finished (seconds since the epoch), if the API says.
    public var finishedAt: Double?
    /// The API's time of finishing as written (the event's `timestamp`).
    public var finishedText: String?
    /// `data` fields besides `id` (output_file_uri, video_uri, error_code, error_message), as JSON values.
    public var data: [(String, JSON)] = []
    /// The `user_metadata` the job was created with, when the API shows it.
    public var userMetadata: JSON?

    public static let idPrefix = "reconcile_"

    public init(job: String, state: String, type: String? = nil, finishedAt: Double? = nil, finishedText: String? = nil) {
        self.job = job; self.state = state; self.type = type; self.finishedAt = finishedAt; self.finishedText = finishedText
    }

    public static func == (a: ReconcileEvent, b: ReconcileEvent) -> Bool {
        a.job == b.job && a.state == b.state && a.type == b.type && a.finishedAt == b.finishedAt && a.finishedText == b.finishedText
            && a.data.map(\.0) == b.data.map(\.0) && a.data.map(\.1) == b.data.map(\.1) && a.userMetadata == b.userMetadata
    }

    /// Where the job is matched with deliveries (`JobKey`); nil when no event is due.
    public var key: JobKey? { type.flatMap { JobKey(type: $0, job: job) } }

    /// `reconcile_` + the job's id (characters outside `[A-Za-z0-9_-]` made `-`, at most 80) +
    /// the event's last word + 12 hex digits of SHA-256 over the exact job id and type: the same
    /// for every run and every replica, so the spool's id dedup keeps a second copy out, and no
    /// two jobs that read alike after the cleaning share one.
    public var id: String? {
        guard let type, key != nil else { return nil }
        let bare = job.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(job[job.index(after: $0)...]) } ?? job
        let clean = String(bare.unicodeScalars.prefix(80).map { c -> Character in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_") ? Character(c) : "-"
        })
        let word = String((type.split(separator: ".").last.map(String.init) ?? type).map { $0 == "_" ? "-" : $0 })
        let digest = Crypto.sha256(Array((bare + "\n" + type).utf8)).prefix(6).map { String(format2: $0) }.joined()
        return ReconcileEvent.idPrefix + clean + "_" + word + "_" + digest
    }

    /// The body Gemini would have sent (PROTOCOL §4): `type`, `version`, `timestamp` (the job's
    /// end), `data` with `id` and the result's place, `user_metadata` in `data` when known.
    public var body: [UInt8]? {
        guard let type else { return nil }
        var w = JSONWriter()
        w.beginObject()
        w.field("type", type)
        w.field("version", "v1")
        w.field("timestamp", finishedText ?? finishedAt.map(formatTimestamp) ?? "")
        w.key("data"); w.beginObject()
        w.field("id", job)
        for (k, v) in data { w.key(k); w.value(v) }
        if let m = userMetadata { w.key("user_metadata"); w.value(m) }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    // MARK: - From the API's answers

    /// One item of `GET /{v}/batches` (or `GET /{v}/batches/{id}`): `{name, metadata:{state,
    /// endTime, updateTime, output:{responsesFile}|{inlinedResponses}}, done, error?}`. Nil when
    /// it has no name. CANCELLED gets no event: Gemini offers no `batch.cancelled` to subscribe
    /// to (PROTOCOL §8), and the cancel came from you.
    public static func batch(_ item: JSON) -> ReconcileEvent? {
        guard let name = item["name"]?.stringValue, !name.isEmpty else { return nil }
        let meta = item["metadata"]
        let state = meta?["state"]?.stringValue ?? "BATCH_STATE_UNSPECIFIED"
        let end = meta?["endTime"]?.stringValue ?? (item["done"] == .bool(true) ? meta?["updateTime"]?.stringValue : nil)
        var e = ReconcileEvent(job: name, state: state, finishedAt: end.flatMap(parseTime), finishedText: end)
        switch state {
        case "BATCH_STATE_SUCCEEDED", "JOB_STATE_SUCCEEDED":
            e.type = "batch.succeeded"
            let output = meta?["output"] ?? item["response"]
            if let file = output?["responsesFile"]?.stringValue, !file.isEmpty { e.data.append(("output_file_uri", .string(file))) }
        case "BATCH_STATE_FAILED", "JOB_STATE_FAILED":
            e.type = "batch.failed"
            let error = item["error"] ?? meta?["error"]
            e.data.append(("error_code", error?["code"] ?? .string("UNKNOWN")))
            e.data.append(("error_message", .string(error?["message"]?.stringValue ?? "the batch failed (no message in the API's answer)")))
        case "BATCH_STATE_EXPIRED", "JOB_STATE_EXPIRED":
            e.type = "batch.expired"
        default:
            break
        }
        let config = meta?["webhookConfig"]
        e.userMetadata = config?["user_metadata"] ?? config?["userMetadata"]
        return e
    }

    /// `GET /{v}/operations/…` of a Veo job: done with `response.generateVideoResponse
    /// .generatedSamples[0].video.uri` → `video.generated` with that `video_uri`. A failed or
    /// unfinished operation gets none (Gemini has no failure event for videos).
    public static func operation(_ doc: JSON) -> ReconcileEvent? {
        guard let name = doc["name"]?.stringValue, !name.isEmpty else { return nil }
        let done = doc["done"] == .bool(true)
        var e = ReconcileEvent(job: name, state: done ? (doc["error"] != nil ? "failed" : "done") : "running")
        let end = doc["metadata"]?["endTime"]?.stringValue ?? doc["metadata"]?["updateTime"]?.stringValue
        e.finishedText = end
        e.finishedAt = end.flatMap(parseTime)
        guard done, doc["error"] == nil else { return e }
        let response = doc["response"]
        let sample = (response?["generateVideoResponse"] ?? response)?["generatedSamples"]?.firstElement
            ?? response?["generatedVideos"]?.firstElement
        if let uri = sample?["video"]?["uri"]?.stringValue, !uri.isEmpty {
            e.type = "video.generated"
            e.data.append(("video_uri", .string(uri)))
        }
        return e
    }

    /// `GET /{v}/interactions/{id}`: `status` completed, failed or requires_action → the
    /// `interaction.*` of that name; others (in_progress, cancelled) get none.
    public static func interaction(_ doc: JSON, id: String) -> ReconcileEvent? {
        let job = doc["id"]?.stringValue ?? id
        guard !job.isEmpty else { return nil }
        let status = doc["status"]?.stringValue ?? "unknown"
        let end = doc["updated"]?.stringValue ?? doc["update_time"]?.stringValue
        var e = ReconcileEvent(job: job, state: status, finishedAt: end.flatMap(parseTime), finishedText: end)
        switch status {
        case "completed", "requires_action": e.type = "interaction." + status
        case "failed":
            e.type = "interaction.failed"
            let error = doc["error"]
            e.data.append(("error_code", error?["code"] ?? .string("UNKNOWN")))
            e.data.append(("error_message", .string(error?["message"]?.stringValue ?? "the interaction failed (no message in the API's answer)")))
        default: break
        }
        return e
    }

    /// Batches due an event that finished within `window` seconds before `now` (or at an unknown
    /// time: reported, so nothing is silently left out).
    public static func inWindow(_ events: [ReconcileEvent], now: Double, window: Double) -> [ReconcileEvent] {
        events.filter { e in e.type != nil && (e.finishedAt.map { $0 >= now - window } ?? true) }
    }

    // MARK: - Times

    /// RFC 3339 as Google writes it: `2026-05-04T12:00:00Z`, any fraction, `Z` or `±hh:mm`.
    public static func parseTime(_ text: String) -> Double? { RFC3339.parseAnswer(text) }
}

extension JSON {
    fileprivate var firstElement: JSON? {
        if case .array(let items) = self { return items.first }
        return nil
    }
}

extension String {
    /// Two lowercase hex digits.
    fileprivate init(format2 byte: UInt8) {
        let hex = Array("0123456789abcdef")
        self = String([hex[Int(byte >> 4)], hex[Int(byte & 15)]])
    }
}
