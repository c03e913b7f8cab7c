import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost status` for people: the verdict first (ready, not ready and why, not running), then
/// one section per question an operator asks. Pure: the report and the time go in, text comes out.
extension StatusReport {
    public func text(now: Double) -> String {
        var out = ""
        if running {
            var head = "hookhost \(version ?? "?")"
            var facts: [String] = []
            if let pid { facts.append("pid \(pid)") }
            if let startedAt { facts.append("up \(StatusReport.age(now - startedAt))") }
            if !facts.isEmpty { head += " (\(facts.joined(separator: ", ")))" }
            if let listen { head += " on \(listen)" }
            out += head + "\n"
            out += ready ? "READY\n" : "NOT READY\n"
        } else {
            out += "NOT RUNNING\n"
        }
        for p in problems { out += "  - \(p)\n" }
        if !running { out += "  (what follows is read from the data directory\(data.map { " \($0)" } ?? ""))\n" }

        if running {
            out += "\nverification\n"
            var rows: [(String, String)] = []
            let fps = secrets ?? []
            let shown = fps.map { fp in
                secretExpiry[fp].map { "\(fp) (\($0 <= at ? "expired" : "until") \(RFC3339.format($0)))" } ?? fp
            }
            rows.append(("HMAC secrets", fps.isEmpty ? "none" : "\(fps.count) (fingerprints \(shown.joined(separator: ", ")))"))
            if let j = jwks {
                var s = "\(j.source): \(j.state.replacingAll("_", " ")), \(j.keys) \(j.keys == 1 ? "key" : "keys")"
                if let a = j.ageSeconds { s += ", fetched \(StatusReport.age(Double(a))) ago" }
                if let e = j.error { s += "; last error: \(e)" }
                rows.append(("JWKS", s))
            }
            out += StatusReport.table(rows)
        }
        if let f = fetch {
            out += "\nresult downloads\n"
            var rows = [("API", f.apiBase), ("GCS", f.gcsBase)]
            if !f.extraHosts.isEmpty { rows.append(("extra hosts", f.extraHosts.joined(separator: ", "))) }
            out += StatusReport.table(rows)
        }
        if let f = functions {
            out += "\nfunctions in \(f.directory) (\(f.list.count))\n"
            if f.list.isEmpty && !f.problems.contains(where: { $0.hasPrefix("functions directory") }) {
                out += "  none: every delivery is acknowledged and skipped\n"
            }
            out += StatusReport.table(f.list.map { ($0.name, $0.executable) })
            if !f.problems.isEmpty {
                out += "  problems:\n"
                for p in f.problems { out += "    - \(p)\n" }
            }
        }

        out += "\nqueue\n"
        var q = "\(queue.depth)"
        var parts: [String] = []
        if queue.running > 0 { parts.append("\(queue.running) running") }
        if queue.retryScheduled > 0 { parts.append("\(queue.retryScheduled) waiting for a retry") }
        if queue.received > 0 { parts.append("\(queue.received) received") }
        if !parts.isEmpty { q += " (\(parts.joined(separator: ", ")))" }
        var rows = [("unfinished", q)]
        if let a = queue.oldestAgeSeconds { rows.append(("oldest", "arrived \(StatusReport.age(Double(a))) ago")) }
        out += StatusReport.table(rows)

        out += "\ndead letters: \(deadLetterTotal)\n"
        out += StatusReport.table(deadLetters.map { ($0.function.isEmpty ? "(no function)" : $0.function, String($0.count)) })

        out += "\nlast errors"
        if lastErrors.isEmpty {
            out += ": none\n"
        } else {
            out += " (newest first)\n"
            for e in lastErrors {
                out += "  \(formatTimestamp(e.at))  \(e.state)  \(e.id)\n"
                out += "    type \(e.type)" + (e.function.map { ", function \($0)" } ?? "") + ", attempt \(e.attempt): \(e.error)\n"
            }
        }
        return out
    }

    /// `45s`, `12m30s`, `3h5m`, `2d4h`.
    static func age(_ seconds: Double) -> String {
        let s = Int(max(0, seconds.rounded()))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + (s % 60 == 0 ? "" : "\(s % 60)s") }
        if s < 86400 { return "\(s / 3600)h" + (s % 3600 / 60 == 0 ? "" : "\(s % 3600 / 60)m") }
        return "\(s / 86400)d" + (s % 86400 / 3600 == 0 ? "" : "\(s % 86400 / 3600)h")
    }

    /// Two columns, the first padded to the widest.
    static func table(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 + "\n" }.joined()
    }
}
