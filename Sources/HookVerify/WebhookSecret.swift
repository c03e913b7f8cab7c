import HookSupport
import HookNet
import HookHTTP
/// Why a secret text is not a `whsec_` secret. Neutral: the caller (App) names the setting it came
/// from; the secret itself is never echoed.
public enum WebhookSecretError: Error, Equatable, CustomStringConvertible {
    case missingPrefix
    case invalidBase64

    public var description: String {
        switch self {
        case .missingPrefix: return "a secret does not start with \"whsec_\""
        case .invalidBase64: return "a whsec_ secret is not valid base64"
        }
    }
}

/// A Standard Webhooks signing secret (`whsec_<base64>`); the HMAC key is the decoded bytes.
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "whsec_"
    let key: [UInt8]
    /// A short non-reversible tag for logs (never the secret itself).
    public let fingerprint: String

    /// Parses `whsec_…`; throws naming what is wrong but never echoing the secret.
    public init(_ text: String) throws(WebhookSecretError) {
        let trimmed = text.trimmingSpaces
        guard trimmed.hasPrefix(WebhookSecret.prefix) else {
            throw .missingPrefix
        }
        let b64 = trimmed.dropFirst(WebhookSecret.prefix.count)
        guard !b64.isEmpty, let key = Base64.decode(b64), !key.isEmpty else {
            throw .invalidBase64
        }
        self.key = key
        self.fingerprint = String(hexString(Crypto.sha256(key)).prefix(8))
    }

    public init(key: [UInt8]) {
        self.key = key
        self.fingerprint = String(hexString(Crypto.sha256(key)).prefix(8))
    }

    /// The secret in `whsec_` form (for `hookhost send`).
    public var encoded: String { WebhookSecret.prefix + Base64.encode(key) }

    public var description: String { "whsec_…(\(fingerprint))" }

    /// Parses a list separated by spaces, commas or newlines; `#` starts a comment line.
    public static func parseList(_ text: String) throws(WebhookSecretError) -> [WebhookSecret] {
        var out: [WebhookSecret] = []
        // `isNewline`, not == "\n": in Swift "\r\n" is one Character, equal to neither "\n" nor "\r".
        for line in text.split(whereSeparator: { $0.isNewline }) {
            let l = line.trimmingSpaces
            if l.hasPrefix("#") { continue }
            for part in l.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }) where !part.isEmpty {
                out.append(try WebhookSecret(String(part)))
            }
        }
        return out
    }
}
