import HookSupport
import HookNet
import HookHTTP
/// Why a secret text is not a `whsec_` secret. Neutral: the caller (App) names the setting it came
/// from; the secret itself is never echoed.
public enum WebhookSecretError: Error, Equatable, CustomStringConvertible {
    case missingPrefix
    case invalidBase64
    /// A `key=value` after a secret that is not understood (line number from 1, what is wrong).
    case badOption(line: Int, message: String)

    public var description: String {
        switch self {
        case .missingPrefix: return "a secret does not start with \"whsec_\""
        case .invalidBase64: return "a whsec_ secret is not valid base64"
        case .badOption(let line, let message): return "line \(line): \(message)"
        }
    }
}

/// A Standard Webhooks signing secret (`whsec_<base64>`); the HMAC key is the decoded bytes.
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "whsec_"
    let key: [UInt8]
    /// A short non-reversible tag for logs (never the secret itself).
    public let fingerprint: String
    /// Seconds since the epoch after which the verifier no longer accepts this secret
    /// (`expires=` in the secrets file: the previous secret kept through a rotation's grace period).
    public private(set) var expiresAt: Double?

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

    /// This secret, accepted only until `time` (nil: for ever).
    public func expiring(at time: Double?) -> WebhookSecret {
        var copy = self
        copy.expiresAt = time
        return copy
    }

    /// Whether the secret's expiry has passed at `now`.
    public func isExpired(at now: Double) -> Bool { expiresAt.map { now >= $0 } ?? false }

    /// The fingerprint, with `until <time>` (or `expired <time>`) when the secret expires: what
    /// the start-up log and `hookhost status` show.
    public func shown(at now: Double) -> String {
        guard let expiresAt else { return fingerprint }
        return "\(fingerprint) (\(isExpired(at: now) ? "expired" : "until") \(RFC3339.format(expiresAt)))"
    }

    /// The secret in `whsec_` form (for `hookhost send`).
    public var encoded: String { WebhookSecret.prefix + Base64.encode(key) }

    public var description: String { "whsec_…(\(fingerprint))" }

    /// Parses a list separated by spaces, commas or newlines; `#` starts a comment (a whole line,
    /// or the rest of one); `expires=<RFC 3339 UTC>` after a secret on its line sets its expiry.
    public static func parseList(_ text: String) throws(WebhookSecretError) -> [WebhookSecret] {
        try SecretsText.parse(text).flatMap { $0.entries.map(\.secret) }
    }
}
