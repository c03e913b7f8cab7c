import HookSupport
import HookVerify

/// How `hookhost webhooks create|rotate` change a secrets file's text. Pure: text in, text out;
/// lines it does not touch (comments, other secrets, their spacing) come out byte for byte.
public enum SecretsFileEdit {
    /// What happens to a webhook's previous secrets when a new one is added.
    public enum Retire: Sendable, Equatable {
        /// Kept, each with `expires=` at this time (or its own, when earlier).
        case at(Double)
        /// Removed now.
        case now
        /// Left as they are (create).
        case keep
    }

    /// The outcome: the new text and the fingerprints of the secrets that were retired.
    public struct Result: Sendable, Equatable {
        public var text: String
        public var retired: [String]
        /// True when the new secret was in the file already (nothing added).
        public var alreadyPresent: Bool
    }

    /// Adds `secret` for `webhook` (a line of its own, with `note` as a trailing comment) and
    /// retires the other secrets marked `webhook=<same id>` as `retire` says.
    public static func add(_ secret: WebhookSecret, webhook: String, note: String, retire: Retire,
                           to text: String) throws(WebhookSecretError) -> Result {
        let lines = try SecretsText.parse(text)
        var retired: [String] = []
        var present = false
        var out: [String] = []
        for var line in lines {
            let before = line.entries
            var kept: [SecretsText.Entry] = []
            for var entry in line.entries {
                if entry.secret == secret.expiring(at: entry.secret.expiresAt) && entry.webhook == webhook {
                    present = true
                    kept.append(entry)
                    continue
                }
                guard entry.webhook == webhook else { kept.append(entry); continue }
                switch retire {
                case .keep:
                    kept.append(entry)
                case .now:
                    retired.append(entry.secret.fingerprint)
                case .at(let t):
                    retired.append(entry.secret.fingerprint)
                    entry.secret = entry.secret.expiring(at: min(entry.secret.expiresAt ?? t, t))
                    kept.append(entry)
                }
            }
            if kept == before { out.append(line.text); continue }
            if kept.isEmpty { continue }  // the line held only retired secrets (and its comment)
            line.entries = kept
            out.append(render(line))
        }
        if !present {
            out.append(SecretsText.Entry(secret: secret.expiring(at: nil), webhook: webhook).text + "  # " + clean(note))
        }
        return Result(text: out.map { $0 + "\n" }.joined(), retired: retired, alreadyPresent: present)
    }

    /// A line rebuilt from its entries, keeping its trailing `# comment`.
    static func render(_ line: SecretsText.Line) -> String {
        let body = line.entries.map(\.text).joined(separator: " ")
        guard let hash = commentStart(line.text) else { return body }
        return body + "  " + line.text[hash...]
    }

    /// Where a trailing comment starts: the first token that begins with `#`.
    static func commentStart(_ text: String) -> String.Index? {
        var previous: Character = " "
        for i in text.indices {
            if text[i] == "#" && (previous == " " || previous == "\t" || previous == ",") { return i }
            previous = text[i]
        }
        return nil
    }

    /// A note on one line, without line breaks.
    static func clean(_ note: String) -> String {
        String(note.map { $0.isNewline ? " " : $0 }.prefix(200))
    }
}
