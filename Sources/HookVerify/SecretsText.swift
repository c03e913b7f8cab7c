import HookSupport

/// The text of `HOOKHOST_SECRETS` and of a secrets file, line by line, kept so that a tool can
/// rewrite one line and leave every other byte as it was. Pure.
///
///     # comment line
///     whsec_AAAA…                                   a secret, valid for ever
///     whsec_BBBB… webhook=wh_123 expires=2026-12-08T17:40:00Z   # optional trailing comment
///
/// Secrets on one line may be separated by spaces, commas or tabs (the old format). A `key=value`
/// after a secret belongs to it: `expires=` (RFC 3339 UTC, `Z`) ends its validity, `webhook=`
/// names the Gemini webhook it signs for (so `hookhost webhooks rotate` knows which to retire).
/// Anything else is refused with the line's number: a typo must not silently keep a secret alive.
public enum SecretsText {
    /// One secret with its options.
    public struct Entry: Sendable, Equatable {
        public var secret: WebhookSecret
        /// The Gemini webhook id this secret belongs to (`webhook=`).
        public var webhook: String?

        public init(secret: WebhookSecret, webhook: String? = nil) {
            self.secret = secret
            self.webhook = webhook
        }

        /// The entry as written in a file: `whsec_… [webhook=ID] [expires=TIME]`.
        public var text: String {
            var parts = [secret.encoded]
            if let webhook { parts.append("webhook=" + webhook) }
            if let e = secret.expiresAt { parts.append("expires=" + RFC3339.format(e)) }
            return parts.joined(separator: " ")
        }
    }

    /// One line as read: its text (without the line break) and the secrets on it.
    public struct Line: Sendable, Equatable {
        public var text: String
        public var entries: [Entry]
    }

    /// Every line, blank and comment lines included (with no entries).
    public static func parse(_ text: String) throws(WebhookSecretError) -> [Line] {
        var lines: [Line] = []
        // `isNewline`, not == "\n": in Swift "\r\n" is one Character, equal to neither "\n" nor "\r".
        var raw = text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }).map(String.init)
        if raw.last == "" { raw.removeLast() }
        for (index, line) in raw.enumerated() {
            lines.append(Line(text: line, entries: try entries(line, number: index + 1)))
        }
        return lines
    }

    /// The secrets on one line (`number` from 1, for errors).
    public static func entries(_ line: String, number: Int) throws(WebhookSecretError) -> [Entry] {
        var out: [Entry] = []
        var seen: Set<String> = []
        for part in line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }) where !part.isEmpty {
            if part.hasPrefix("#") { break }
            if part.hasPrefix(WebhookSecret.prefix) || !part.contains("=") {
                out.append(Entry(secret: try WebhookSecret(String(part))))
                seen = []
                continue
            }
            let eq = part.firstIndex(of: "=")!
            let key = String(part[..<eq]), value = String(part[part.index(after: eq)...])
            guard !out.isEmpty else { throw .badOption(line: number, message: "\(key)= comes before any whsec_ secret on its line") }
            guard seen.insert(key).inserted else { throw .badOption(line: number, message: "\(key)= is given twice for one secret") }
            switch key {
            case "expires":
                guard let t = RFC3339.parse(value) else {
                    throw .badOption(line: number, message: "expires=\(value.prefix(40)) is not a UTC time like 2026-12-08T17:40:00Z")
                }
                out[out.count - 1].secret = out[out.count - 1].secret.expiring(at: t)
            case "webhook":
                guard isWebhookID(value) else {
                    throw .badOption(line: number, message: "webhook=\(value.prefix(40)) is not a webhook id (letters, digits, - _ .)")
                }
                out[out.count - 1].webhook = value
            default:
                throw .badOption(line: number, message: "unknown option \(key.prefix(40))= after a secret (expires= and webhook= are known)")
            }
        }
        return out
    }

    /// What a webhook id may look like in the file: one token, no separators or comment marks.
    public static func isWebhookID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
        }
    }
}
