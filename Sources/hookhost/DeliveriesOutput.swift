import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// What `hookhost deliveries` prints for people (the control API's JSON is for machines, `--json`).
/// Rendered here, from that JSON, so the server and the stopped-host path print the same.
enum DeliveriesOutput {
    /// `show`: indented sections — summary, every attempt kept, the last output, the stdin document.
    static func show(_ body: [UInt8], now: Double) -> String {
        guard let doc = try? JSONParser.parse(body), let d = doc["delivery"] else { return String(decoding: body, as: UTF8.self) }
        let s = { (k: String) in d[k]?.stringValue }
        var out = "delivery \(s("id") ?? "?")\n"
        var rows: [(String, String)] = [("state", s("state") ?? "?"), ("type", s("type") ?? "?")]
        if let f = s("function") { rows.append(("function", f)) }
        rows.append(("attempts", String(d["attempt"]?.intValue ?? 0)))
        rows.append(("received", s("received_at") ?? "?"))
        rows.append(("updated", s("updated_at") ?? "?"))
        if let n = s("next_at") { rows.append(("next retry", "\(n) (\(relative(n, now: now)))")) }
        rows.append(("verified by", s("verified_by") ?? "?"))
        if let p = s("parent") { rows.append(("parent", p)) }
        if let r = s("root"), r != s("parent") { rows.append(("root", r)) }
        if let e = s("error") { rows.append(("error", e)) }
        out += table(rows, indent: "  ")

        if case .array(let children)? = doc["children"], !children.isEmpty {
            out += "\nchildren (\(children.count) emitted by its runs)\n"
            out += table(children.map { c in (c["id"]?.stringValue ?? "?", "\(c["state"]?.stringValue ?? "?")  \(c["type"]?.stringValue ?? "?")") },
                         indent: "  ")
        }

        var attempts: [JSON] = []
        if case .array(let a)? = doc["attempts"] { attempts = a }
        out += "\nattempts (\(attempts.count) kept)\n"
        if attempts.isEmpty { out += "  none finished yet\n" }
        for a in attempts { out += attempt(a) }

        if let last = doc["last"], let o = last.member("output"), o.value != .null {
            var w = JSONWriter(); w.value(o.value)
            out += "\noutput (last attempt)\n  " + String(decoding: w.bytes, as: UTF8.self) + "\n"
        }
        if let d = doc["download"], d != .null {
            let ms = d["ms"]?.intValue.map { "\($0) ms" } ?? "time not recorded"
            out += "\ndownload\n  \(d["uri"]?.stringValue ?? "?")  \(d["bytes"]?.intValue ?? 0) bytes  sha256 \(d["sha256"]?.stringValue ?? "?")  \(ms)\n"
        }
        if let stdin = doc.member("stdin") {
            var w = JSONWriter(); w.value(stdin.value)
            out += "\nstdin (the document the function reads, one line; exact bytes with --json, a signed URL without its query)\n  "
                + String(decoding: w.bytes, as: UTF8.self) + "\n"
        }
        return out
    }

    /// One attempt: `#N  start  duration  outcome  exit`, then its error, stdout head and stderr tail.
    static func attempt(_ a: JSON) -> String {
        let s = { (k: String) in a[k]?.stringValue }
        var head = "  #\(a["attempt"]?.intValue ?? 0)  \(s("started_at") ?? s("ended_at") ?? "?")"
        if let ms = a["ms"]?.intValue { head += "  \(duration(ms))" }
        head += "  \(s("state") ?? "?")"
        if let x = a["exit_code"]?.intValue { head += "  exit \(x)" }
        if let f = s("function") { head += "  (\(f))" }
        var out = head + "\n"
        var rows: [(String, String)] = []
        if let e = s("error") { rows.append(("error", e)) }
        if let n = s("next_at") { rows.append(("next", n)) }
        if let o = s("stdout_head") { rows.append(("stdout", quoted(o))) }
        if let t = s("stderr") { rows.append(("stderr", quoted(t))) }
        out += table(rows, indent: "      ")
        return out
    }

    /// The last lines of a captured stream, each marked `| ` so blank and indented lines show.
    static func quoted(_ text: String, lines: Int = 10) -> String {
        var ls = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if ls.last == "" { ls.removeLast() }
        let kept = ls.suffix(lines)
        let more = ls.count > kept.count ? "(\(ls.count - kept.count) earlier lines not shown)\n" : ""
        return more + kept.map { "| " + $0 }.joined(separator: "\n")
    }

    /// Aligned `key  value` rows; a value's later lines line up under its first.
    static func table(_ rows: [(String, String)], indent: String) -> String {
        let w = rows.map(\.0.count).max() ?? 0
        return rows.map { k, v in
            let pad = String(repeating: " ", count: w - k.count + 2)
            let cont = "\n" + indent + String(repeating: " ", count: w + 2)
            return indent + k + pad + v.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: cont)
        }.joined(separator: "\n") + (rows.isEmpty ? "" : "\n")
    }

    static func duration(_ ms: Int) -> String {
        ms < 1000 ? "\(ms) ms" : ms < 120_000 ? "\(Double(ms / 100) / 10) s" : "\(ms / 60_000) min \(ms / 1000 % 60) s"
    }

    /// "in 42s", "3m ago", or "due" for a timestamp printed by the host.
    static func relative(_ ts: String, now: Double) -> String {
        guard let t = TimeArgument.timestamp(ts) else { return "?" }
        let d = t - now
        if abs(d) < 1 { return "due" }
        let span = Int(abs(d).rounded())
        let text = span < 120 ? "\(span)s" : span < 7200 ? "\(span / 60)m" : span < 172_800 ? "\(span / 3600)h" : "\(span / 86400)d"
        return d > 0 ? "in \(text)" : "\(text) ago"
    }

    /// `list`: one row per delivery, columns as wide as their longest value.
    static func list(_ body: [UInt8], now: Double) -> String {
        guard case .array(let items)? = (try? JSONParser.parse(body))?["deliveries"] else { return String(decoding: body, as: UTF8.self) }
        let header = ["ID", "TYPE", "STATE", "ATT", "RECEIVED", "NEXT RETRY", "WAITING", "ERROR"]
        var rows = [header]
        for d in items {
            let s = { (k: String) in d[k]?.stringValue ?? "" }
            let next = d["next_at"]?.stringValue.map { relative($0, now: now) } ?? "-"
            // The error is the last column, cut so a row stays one line.
            let error = String(s("error").split(separator: "\n").first ?? "").prefix(60)
            // A pipeline (`--root`) shows each step under the one that emitted it.
            let indent = String(repeating: "  ", count: d["depth"]?.intValue ?? 0)
            // Why it waits without running, if it does: "paused" (its function is paused).
            let waiting = d["waiting"]?.stringValue ?? "-"
            rows.append([indent + s("id"), s("type"), s("state"), String(d["attempt"]?.intValue ?? 0), s("received_at"), next, waiting, String(error)])
        }
        let widths = (0..<header.count - 1).map { c in rows.map { $0[c].count }.max() ?? 0 }
        var out = ""
        for r in rows {
            var line = ""
            for c in 0..<(header.count - 1) { line += r[c].padded(widths[c]) + "  " }
            line += r[header.count - 1]
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out + "\(items.count) \(items.count == 1 ? "delivery" : "deliveries")\n"
    }
}

/// `--since`/`--until`: a duration back from now (`90s`, `15m`, `2h`, `7d`, bare seconds) or a UTC
/// timestamp (`2026-05-01`, `2026-05-01T10:00:00Z`, with optional fraction).
enum TimeArgument {
    /// `--since`/`--until` (named in the error as `option`): seconds since the epoch.
    static func parse(_ text: String, option: String, now: Double) throws(UsageError) -> Double {
        if let t = timestamp(text) { return t }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text), unit = 1.0
        if let u = text.last, let f = units[u] { number = text.dropLast(); unit = f }
        // Digits and one point only: Double(_:) also reads `0x10`, `1e308` and `+5`, which no one
        // means as a duration (and `1e308d` back from now is minus infinity).
        guard isDecimal(number), let v = Double(number), (now - v * unit).isFinite else {
            throw UsageError("\(option) takes a duration (90s, 15m, 2h, 7d) or a UTC time (2026-05-01T10:00:00Z), not \"\(text)\"")
        }
        return now - v * unit
    }

    /// `12`, `1.5`: digits with at most one point between them.
    private static func isDecimal(_ s: Substring) -> Bool {
        let parts = s.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    /// Seconds since the epoch for `YYYY-MM-DD[THH:MM:SS[.fff]Z]` (UTC); nil if not that shape.
    static func timestamp(_ text: String) -> Double? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int32? {
            guard from + count <= b.count else { return nil }
            var v: Int32 = 0
            for c in b[from..<(from + count)] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int32(c - 0x30)
            }
            return v
        }
        guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d
        var frac = 0.0
        if b.count > 10 {
            guard b.count >= 20, b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b.last == UInt8(ascii: "Z"),
                  let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2) else { return nil }
            tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s
            if b.count > 20 {
                // A point and digits: `.5e3` is not a fraction of a second.
                guard b[19] == UInt8(ascii: "."), b.count > 21, b[20..<(b.count - 1)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let f = Double("0" + String(decoding: b[19..<(b.count - 1)], as: UTF8.self)) else { return nil }
                frac = f
            }
        }
        let asked = tm
        let t = timegm(&tm)
        // timegm normalises what it is given (2026-02-30 becomes 2 March): a time that does not
        // come back as written names no moment, and is refused rather than moved.
        guard tm.tm_year == asked.tm_year, tm.tm_mon == asked.tm_mon, tm.tm_mday == asked.tm_mday,
              tm.tm_hour == asked.tm_hour, tm.tm_min == asked.tm_min, tm.tm_sec == asked.tm_sec else { return nil }
        return Double(t) + frac
    }
}
