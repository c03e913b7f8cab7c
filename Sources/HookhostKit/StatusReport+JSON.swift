import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `GET /status`'s JSON (docs/reference.md, "Control socket"), and reading it back: the CLI prints
/// what the host answered, or what it read itself with the host stopped, from the same document.
extension StatusReport {
    public var json: [UInt8] {
        var w = JSONWriter(reserve: 2048)
        w.beginObject()
        w.field("running", running)
        w.field("ready", ready)
        w.key("problems"); w.beginArray(); for p in problems { w.string(p) }; w.endArray()
        w.field("version", optional: version)
        w.key("pid"); if let pid { w.int(pid) } else { w.null() }
        w.field("started_at", optional: startedAt.map(formatTimestamp))
        w.field("listen", optional: listen)
        w.field("data", optional: data)
        w.field("at", formatTimestamp(at))
        w.key("verification")
        w.beginObject()
        w.key("secrets")
        if let secrets { w.beginArray(); for s in secrets { w.string(s) }; w.endArray() } else { w.null() }
        w.key("secret_expiry")
        w.beginObject()
        for (fp, t) in secretExpiry.sorted(by: { $0.key < $1.key }) { w.field(fp, formatTimestamp(t)) }
        w.endObject()
        w.key("jwks")
        if let j = jwks {
            w.beginObject()
            w.field("source", j.source); w.field("state", j.state); w.field("keys", j.keys)
            w.key("age_s"); if let a = j.ageSeconds { w.int(a) } else { w.null() }
            w.field("error", optional: j.error)
            w.endObject()
        } else {
            w.null()
        }
        w.endObject()
        w.key("fetch")
        if let f = fetch {
            w.beginObject()
            w.field("api_base", f.apiBase); w.field("gcs_base", f.gcsBase)
            w.key("extra_hosts"); w.beginArray(); for h in f.extraHosts { w.string(h) }; w.endArray()
            w.endObject()
        } else {
            w.null()
        }
        w.key("functions")
        if let f = functions {
            w.beginObject()
            w.field("directory", f.directory)
            w.key("functions"); w.beginArray()
            for x in f.list {
                w.beginObject(); w.field("name", x.name); w.field("executable", x.executable); w.field("problem", optional: x.problem); w.endObject()
            }
            w.endArray()
            w.key("problems"); w.beginArray(); for p in f.problems { w.string(p) }; w.endArray()
            w.endObject()
        } else {
            w.null()
        }
        w.key("queue")
        w.beginObject()
        w.field("depth", queue.depth); w.field("received", queue.received); w.field("running", queue.running)
        w.field("retry_scheduled", queue.retryScheduled)
        w.key("oldest_unfinished_age_s"); if let a = queue.oldestAgeSeconds { w.int(a) } else { w.null() }
        w.endObject()
        w.key("dead_letters")
        w.beginObject()
        w.field("total", deadLetterTotal)
        w.key("by_function"); w.beginObject(); for d in deadLetters { w.field(d.function, d.count) }; w.endObject()
        w.endObject()
        w.key("last_errors"); w.beginArray()
        for e in lastErrors {
            w.beginObject()
            w.field("at", formatTimestamp(e.at)); w.field("id", e.id); w.field("type", e.type); w.field("state", e.state)
            w.field("function", optional: e.function); w.field("attempt", e.attempt); w.field("error", e.error)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Reads `json` back; nil when it is not a status document. Times come back at millisecond
    /// precision (as written).
    public init?(json bytes: [UInt8]) {
        guard let doc = try? JSONParser.parse(bytes), doc.isObject, let running = doc["running"]?.boolValue else { return nil }
        self.init()
        self.running = running
        problems = StatusReport.strings(doc["problems"])
        version = doc["version"]?.stringValue
        pid = doc["pid"]?.intValue
        startedAt = doc["started_at"]?.stringValue.flatMap(StatusReport.timestamp)
        listen = doc["listen"]?.stringValue
        data = doc["data"]?.stringValue
        at = doc["at"]?.stringValue.flatMap(StatusReport.timestamp) ?? 0
        if let v = doc["verification"] {
            if case .array? = v["secrets"] { secrets = StatusReport.strings(v["secrets"]) }
            if case .object(let pairs)? = v["secret_expiry"] {
                for m in pairs { if let at = m.value.stringValue.flatMap(StatusReport.timestamp) { secretExpiry[m.key] = at } }
            }
            if let j = v["jwks"], j.isObject {
                jwks = JWKS(source: j["source"]?.stringValue ?? "", state: j["state"]?.stringValue ?? "", keys: j["keys"]?.intValue ?? 0,
                            ageSeconds: j["age_s"]?.intValue, error: j["error"]?.stringValue)
            }
        }
        if let f = doc["fetch"], f.isObject {
            fetch = FetchSources(apiBase: f["api_base"]?.stringValue ?? "", gcsBase: f["gcs_base"]?.stringValue ?? "",
                                 extraHosts: StatusReport.strings(f["extra_hosts"]))
        }
        if let f = doc["functions"], f.isObject {
            var fs = Functions(directory: f["directory"]?.stringValue ?? "")
            fs.list = StatusReport.objects(f["functions"]).map {
                Function(name: $0["name"]?.stringValue ?? "", executable: $0["executable"]?.stringValue ?? "", problem: $0["problem"]?.stringValue)
            }
            fs.problems = StatusReport.strings(f["problems"])
            functions = fs
        }
        if let q = doc["queue"] {
            queue = Queue(depth: q["depth"]?.intValue ?? 0, received: q["received"]?.intValue ?? 0, running: q["running"]?.intValue ?? 0,
                          retryScheduled: q["retry_scheduled"]?.intValue ?? 0, oldestAgeSeconds: q["oldest_unfinished_age_s"]?.intValue)
        }
        if case .object(let members)? = doc["dead_letters"]?["by_function"] {
            deadLetters = members.map { DeadLetters(function: $0.key, count: $0.value.intValue ?? 0) }
        }
        lastErrors = StatusReport.objects(doc["last_errors"]).map {
            ErrorEntry(at: $0["at"]?.stringValue.flatMap(StatusReport.timestamp) ?? 0, id: $0["id"]?.stringValue ?? "", type: $0["type"]?.stringValue ?? "",
                       state: $0["state"]?.stringValue ?? "", function: $0["function"]?.stringValue, attempt: $0["attempt"]?.intValue ?? 0,
                       error: $0["error"]?.stringValue ?? "")
        }
    }

    /// Seconds since the epoch for `formatTimestamp`'s `YYYY-MM-DDTHH:MM:SS.mmmZ`; nil for anything else.
    static func timestamp(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"),
              b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "."), b[23] == UInt8(ascii: "Z") else { return nil }
        func num(_ from: Int, _ count: Int) -> Int32? {
            var v: Int32 = 0
            for c in b[from..<(from + count)] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int32(c - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              let ms = num(20, 3) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d; tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s
        return Double(timegm(&tm)) + Double(ms) / 1000
    }

    private static func strings(_ v: JSON?) -> [String] {
        guard case .array(let a)? = v else { return [] }
        return a.compactMap(\.stringValue)
    }

    private static func objects(_ v: JSON?) -> [JSON] {
        guard case .array(let a)? = v else { return [] }
        return a.filter(\.isObject)
    }
}
