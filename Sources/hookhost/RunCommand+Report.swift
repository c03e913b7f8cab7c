import Glibc
import Synchronization
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// How `hookhost run` prints what it ran and what came of it.
extension RunCommand {
    // MARK: output

    static func header(_ choice: Choice, _ f: ResolvedFunction, _ d: LocalRun.Delivery, host: HostConfig) -> String {
        var why = ""
        if case .found(_, let w, _) = choice { why = w }
        var rows: [(String, String)] = [("function", "\(f.name)  (\(why))"), ("file", f.path)]
        rows.append(("sidecar", sidecarSummary(f, host: host)))
        rows.append(("delivery", "\(d.id), attempt \(d.attempt), type \(d.type)"))
        if let r = d.result {
            rows.append(("result", "\(r.uri) → \(r.path) (\(r.bytes) bytes, sha256 \(r.sha256.prefix(16))…"
                         + (r.contentType.map { ", \($0)" } ?? "") + ")"))
        } else {
            rows.append(("result", "null"))
        }
        return DeliveriesOutput.table(rows, indent: "")
    }

    static func sidecarSummary(_ f: ResolvedFunction, host: HostConfig) -> String {
        if let e = f.sidecarError { return "UNUSABLE: \(e)" }
        let e = EffectiveSettings(f.settings, host: host)
        var s = "timeout \(SettingRange.format(e.timeout)) s, max_attempts \(e.maxAttempts), fetch \(e.fetch)"
        if !f.settings.env.isEmpty { s += ", env " + f.settings.env.map(\.0).joined(separator: ",") }
        if !f.settings.passEnv.isEmpty { s += ", pass_env " + f.settings.passEnv.joined(separator: ",") }
        s += e.fromSidecar.isEmpty && f.settings.env.isEmpty && f.settings.passEnv.isEmpty ? " (host defaults)" : " (from \(f.name).json and the host's defaults)"
        return s
    }

    static func render(_ r: LocalRun.Report, _ f: ResolvedFunction, host: HostConfig) -> String {
        let maxAttempts = EffectiveSettings(f.settings, host: host).maxAttempts
        var outcome = r.outcome.rawValue
        if let e = r.failure { outcome += ": " + e }
        let meaning: String = switch r.outcome {
        case .ok: "the host would record the delivery done"
        case .retry: "not ready: the host would run it again later, spending no attempt"
        case .dead: "the host would dead-letter it at once"
        default: "a failed attempt: the host would retry it with backoff, up to max_attempts (\(maxAttempts)), then dead-letter it"
        }
        var rows: [(String, String)] = [("outcome", outcome), ("", meaning)]
        if RunCommand.interrupts.load(ordering: .relaxed) > 0 { rows.append(("", "stopped by an interrupt (Ctrl-C or SIGTERM to hookhost run)")) }
        rows.append(("exit code", r.exitCode.map(String.init) ?? (r.outcome == .timeout ? "none (timed out)" : "none")))
        rows.append(("duration", String(format3(r.seconds)) + " s (timeout \(SettingRange.format(r.timeout)) s)"))
        for name in r.refusedPassEnv { rows.append(("pass_env", "\(name) refused: HOOKHOST_* variables are never passed")) }
        var out = DeliveriesOutput.table(rows, indent: "")
        let trimmed = trimmingWhitespace(r.stdout)
        if trimmed.isEmpty {
            out += "\nstdout: (empty)\n"
        } else if let json = try? JSONParser.parse(Array(trimmed)) {
            let kept = r.storedAsOutput ? "a JSON object: the host stores it as the delivery's output"
                : "JSON but not one object: the host would not store it as the output"
            out += "\nstdout (\(kept)):\n" + indent(pretty(json), by: "  ") + "\n"
        } else {
            out += "\nstdout (not JSON: the host would not store it as the output; it keeps the first 200 bytes with the run):\n"
            out += indent(DeliveriesOutput.quoted(String(decoding: r.stdout, as: UTF8.self), lines: 40), by: "  ") + "\n"
        }
        if r.stdoutTruncated { out += "  (cut at the host's 1 MiB stdout limit)\n" }
        if !r.emitted.isEmpty {
            out += "\nemitted (\(r.emitted.count) \(r.emitted.count == 1 ? "event" : "events") the host would store with this run's done, then run like deliveries):\n"
            for c in r.emitted.prefix(20) { out += "  \(c.id)  \(c.type)  " + String(decoding: c.body.prefix(200), as: UTF8.self) + "\n" }
            if r.emitted.count > 20 { out += "  … and \(r.emitted.count - 20) more\n" }
        }
        if r.stderrTail.isEmpty {
            out += "\nstderr: (empty)\n"
        } else {
            out += "\nstderr (the end, as the host logs it):\n" + indent(DeliveriesOutput.quoted(r.stderrTail, lines: 20), by: "  ") + "\n"
        }
        return out
    }

    static func format3(_ seconds: Double) -> String {
        let ms = Int((seconds * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    static func trimmingWhitespace(_ b: [UInt8]) -> ArraySlice<UInt8> {
        let ws: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = b.firstIndex(where: { !ws($0) }), let last = b.lastIndex(where: { !ws($0) }) else { return [] }
        return b[first...last]
    }

    static func indent(_ text: String, by prefix: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
    }

    /// JSON indented two spaces per level, keys in their order, scalars as written.
    static func pretty(_ v: JSON, level: Int = 0) -> String {
        let pad = String(repeating: "  ", count: level + 1), close = String(repeating: "  ", count: level)
        switch v {
        case .object(let members) where !members.isEmpty:
            return "{\n" + members.map { m in
                var w = JSONWriter(); w.string(m.key)
                return pad + w.string + ": " + pretty(m.value, level: level + 1)
            }.joined(separator: ",\n") + "\n" + close + "}"
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { pad + pretty($0, level: level + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        default:
            var w = JSONWriter(); w.value(v)
            return w.string
        }
    }
}
