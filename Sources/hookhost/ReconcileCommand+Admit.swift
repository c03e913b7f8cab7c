import Glibc
import HookhostKit
import HookSupport

extension ReconcileCommand {
    /// What one request to a running host's control socket may carry, with room to spare: its
    /// server takes 1 MiB bodies (`HTTPLimits`), and a listing can find thousands of missing jobs.
    static let controlRequestBytes = 512 << 10

    /// `POST /deliveries/admit` for `events`, in as many requests as the running host's control
    /// socket needs (one with the host stopped, where each request opens the spool), the answers
    /// merged into one `{admitted, seen, failed}` (as the text `--json` prints). An event too
    /// large for any request is answered `failed` here; the others are still sent.
    static func admit(_ events: [SynthesizedEvent], apply: Bool, data: String) throws -> [UInt8] {
        var running = false
        switch ServerProbe.check(data, create: false) {
        case .running: running = true
        case .stopped(let lockFD): if lockFD >= 0 { close(lockFD) }  // `perform` takes the lock itself
        case .unusable: break  // `perform` says why
        }
        let limit = running ? controlRequestBytes : Int.max
        var merged: [String: [JSON]] = [:]
        var batch: [UInt8] = []
        var sent = false
        func flush() throws {
            sent = true
            let body = Array(#"{"events":["#.utf8) + batch + Array("]}".utf8)
            batch = []
            let (status, answer) = try DeliveriesCommand.perform("POST", "/deliveries/admit" + (apply ? "" : "?dry_run=1"), data: data, body: body)
            guard (200..<300).contains(status), let doc = try? JSONParser.parse(answer) else {
                let msg = (try? JSONParser.parse(answer))?["error"]?.stringValue ?? String(decoding: answer.prefix(300), as: UTF8.self)
                throw RuntimeError("the spool refused the events: \(msg)")
            }
            for name in outcomes { if case .array(let items)? = doc[name] { merged[name, default: []] += items } }
        }
        for e in events {
            var w = JSONWriter()
            w.beginObject(); w.field("id", e.id); w.field("body", String(decoding: e.body, as: UTF8.self)); w.endObject()
            if w.bytes.count + 16 > limit {
                var f = JSONWriter()
                f.beginObject(); f.field("id", e.id); f.field("type", e.type); f.field("job", e.job)
                f.field("error", "the event is \(w.bytes.count) bytes, more than a request to the control socket carries (\(limit))")
                f.endObject()
                if let entry = try? JSONParser.parse(f.bytes) { merged["failed", default: []].append(entry) }
                continue
            }
            if !batch.isEmpty && batch.count + w.bytes.count + 16 > limit { try flush() }
            if !batch.isEmpty { batch.append(UInt8(ascii: ",")) }
            batch += w.bytes
        }
        if !batch.isEmpty || !sent { try flush() }
        var out = JSONWriter()
        out.beginObject()
        for name in outcomes {
            out.key(name); out.beginArray()
            for item in merged[name] ?? [] { out.value(item) }
            out.endArray()
        }
        out.endObject()
        return out.bytes
    }

    private static var outcomes: [String] { ["admitted", "seen", "failed"] }
}
