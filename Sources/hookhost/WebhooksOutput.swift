import HookhostKit
import HookSupport

/// What `hookhost webhooks list|get` print for people (`--json` prints the API's JSON).
enum WebhooksOutput {
    /// The state as shown: Gemini turning a webhook off after failed deliveries must not look
    /// like a user's own `disabled`.
    static func state(_ hook: JSON) -> String {
        switch hook["state"]?.stringValue ?? "" {
        case "enabled": "enabled"
        case "disabled": "disabled"
        case "disabled_due_to_failed_deliveries": "DISABLED BY GEMINI (failed deliveries)"
        case "": "?"
        case let other: other
        }
    }

    static func events(_ hook: JSON) -> String {
        (hook["subscribed_events"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
    }

    /// Each secret's truncated form, with its expiry when it has one.
    static func secrets(_ hook: JSON) -> [String] {
        (hook["signing_secrets"]?.arrayValue ?? []).map { s in
            let t = s["truncated_secret"]?.stringValue ?? "?"
            return s["expire_time"]?.stringValue.map { "\(t) (expires \($0))" } ?? t
        }
    }

    static func table(_ hooks: [JSON], now: Double) -> String {
        guard !hooks.isEmpty else { return "no webhooks (hookhost webhooks create --uri URL --events …)" }
        var rows = [["ID", "NAME", "STATE", "EVENTS", "URI", "SECRETS"]]
        for h in hooks {
            rows.append([h["id"]?.stringValue ?? "?", h["name"]?.stringValue ?? "-", state(h), events(h),
                         h["uri"]?.stringValue ?? "?", secrets(h).joined(separator: ", ")])
        }
        var widths = Array(repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var lines = rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
        }
        lines += warnings(hooks)
        return lines.joined(separator: "\n")
    }

    static func warnings(_ hooks: [JSON]) -> [String] {
        hooks.filter { $0["state"]?.stringValue == "disabled_due_to_failed_deliveries" }.map {
            let id = $0["id"]?.stringValue ?? "?"
            return "WARNING: Gemini disabled webhook \(id) after failed deliveries; events are not sent to it. "
                + "Fix the endpoint (hookhost webhooks ping \(id) --wait 30), then: hookhost webhooks update \(id) --state enabled"
        }
    }

    static func details(_ hook: JSON, now: Double) -> String {
        var rows: [(String, String)] = [("id", hook["id"]?.stringValue ?? "?")]
        if let name = hook["name"]?.stringValue { rows.append(("name", name)) }
        rows += [("state", state(hook)), ("uri", hook["uri"]?.stringValue ?? "?"), ("events", events(hook))]
        let secrets = secrets(hook)
        rows.append(("secrets", secrets.isEmpty ? "none shown" : secrets.joined(separator: ", ")))
        for key in ["create_time", "update_time"] { if let t = hook[key]?.stringValue { rows.append((String(key.map { $0 == "_" ? " " : $0 }), t)) } }
        let width = rows.map(\.0.count).max() ?? 0
        return (rows.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 } + warnings([hook])).joined(separator: "\n")
    }

    /// The resource without `new_signing_secret` (printed only with --show-secret).
    static func withoutSecret(_ hook: JSON) -> JSON {
        guard case .object(let members) = hook else { return hook }
        return .object(members.filter { $0.key != "new_signing_secret" })
    }

    static func compact(_ value: JSON) -> String {
        var w = JSONWriter()
        w.value(value)
        return w.string
    }
}
