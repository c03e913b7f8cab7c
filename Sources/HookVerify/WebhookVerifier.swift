import HookSupport
import HookNet
import HookHTTP
/// Why a delivery failed verification. The message names the failed check, never the secret.
public enum VerificationError: Error, Equatable, CustomStringConvertible {
    case missingHeader(String)
    case invalidTimestamp
    case timestampTooOld
    case timestampTooNew
    case noSignatureEntries
    case noMatchingSignature
    case noSecretsConfigured
    case dynamicWebhooksNotConfigured
    /// The signature is right for a secret whose `expires=` has passed (a rotation's old secret).
    case expiredSecret

    public var description: String {
        switch self {
        case .missingHeader(let h): return "missing \(h) header"
        case .invalidTimestamp: return "webhook-timestamp is not an integer of Unix seconds"
        case .timestampTooOld: return "webhook-timestamp is too old (outside the tolerance)"
        case .timestampTooNew: return "webhook-timestamp is too new (outside the tolerance)"
        case .noSignatureEntries: return "webhook-signature has no v1 entry"
        case .noMatchingSignature: return "no matching signature in webhook-signature"
        case .noSecretsConfigured: return "no HMAC secrets configured for static webhooks"
        case .dynamicWebhooksNotConfigured: return "webhook-signature is a JWT but dynamic webhooks not configured"
        case .expiredSecret: return "signed with a secret whose expiry has passed (rotated out)"
        }
    }
}

/// The three Standard Webhooks header names (compare case-insensitively).
public enum WebhookHeader {
    public static let id = "webhook-id"
    public static let timestamp = "webhook-timestamp"
    public static let signature = "webhook-signature"
}

/// Standard Webhooks v1 (HMAC-SHA256) verification, against `WebhookSigner`. Pure: time comes from the clock.
public struct WebhookVerifier: Sendable {
    public let secrets: [WebhookSecret]
    public let tolerance: Double
    public let clock: any WallClock

    public init(secrets: [WebhookSecret], tolerance: Double = 300, clock: any WallClock = SystemClock()) {
        self.secrets = secrets
        self.tolerance = tolerance
        self.clock = clock
    }

    /// Checks the timestamp window first, then the signature.
    public func verify(id: String?, timestamp: String?, signature: String?, body: [UInt8]) throws(VerificationError) {
        let (id, ts) = try checkTimestamp(id: id, timestamp: timestamp)
        guard let signature, !signature.isEmpty else { throw .missingHeader(WebhookHeader.signature) }
        try verifyIgnoringTimestamp(id: id, timestamp: ts, signature: signature, body: body)
    }

    /// Validates presence of id/timestamp and that the timestamp is inside ±tolerance.
    public func checkTimestamp(id: String?, timestamp: String?) throws(VerificationError) -> (String, String) {
        guard let id, !id.isEmpty else { throw .missingHeader(WebhookHeader.id) }
        guard let timestamp, !timestamp.isEmpty else { throw .missingHeader(WebhookHeader.timestamp) }
        guard WebhookVerifier.isTimestampSyntax(timestamp), let seconds = Int(timestamp) else { throw .invalidTimestamp }
        let now = clock.now()
        if Double(seconds) < now - tolerance { throw .timestampTooOld }
        if Double(seconds) > now + tolerance { throw .timestampTooNew }
        return (id, timestamp)
    }

    /// Whether `text` is spelt like a webhook-timestamp: 1 to 12 ASCII digits. Not
    /// `Character.isNumber`, which also takes `½` and other scripts' digits.
    public static func isTimestampSyntax(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 12 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Accepts when any `v1,` entry matches any secret. Skips the timestamp window check.
    public func verifyIgnoringTimestamp(id: String, timestamp: String, signature: String, body: [UInt8]) throws(VerificationError) {
        if WebhookVerifier.looksLikeJWT(signature) { throw .dynamicWebhooksNotConfigured }
        let expected = WebhookVerifier.v1Entries(signature)
        guard !expected.isEmpty else { throw .noSignatureEntries }
        guard !secrets.isEmpty else { throw .noSecretsConfigured }
        let content = WebhookSigner.signedContent(id: id, timestamp: timestamp, body: body)
        // Expiry is checked here, at each delivery, against the clock: a rotated-out secret stops
        // verifying at its time with no reload or restart.
        let now = clock.now()
        var matched = false, matchedExpired = false
        for secret in secrets {
            // Compare the canonical encoding, as the reference libraries do: a variant spelling
            // (unused low bits set, no padding, URL-safe alphabet) decodes to the same bytes but
            // is not the signature, and every other receiver would refuse it.
            let mac = Array(WebhookSigner.encodedMAC(key: secret.key, content: content).utf8)
            // Every entry is compared even after a match, so timing does not reveal which one matched.
            for entry in expected where Crypto.constantTimeEqual(mac, entry) {
                if secret.isExpired(at: now) { matchedExpired = true } else { matched = true }
            }
        }
        guard matched else { throw matchedExpired ? .expiredSecret : .noMatchingSignature }
    }

    /// The base64 text of each `v1,` entry of a space-separated header; other versions are ignored.
    static func v1Entries(_ header: String) -> [[UInt8]] {
        header.utf8.split(separator: 0x20).compactMap { entry -> [UInt8]? in
            entry.starts(with: "v1,".utf8) ? Array(entry.dropFirst(3)) : nil
        }
    }

    /// A compact JWT: three base64url segments separated by dots, no spaces or commas.
    public static func looksLikeJWT(_ s: String) -> Bool {
        // One pass over the bytes: this runs for every delivery, HMAC ones included.
        var dots = 0, segmentLength = 0
        for c in s.utf8 {
            if c == 0x2E {
                if dots < 2 && segmentLength == 0 { return false }  // header and payload must not be empty
                dots += 1
                segmentLength = 0
            } else if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F || c == 0x3D {
                segmentLength += 1
            } else {
                return false
            }
        }
        return dots == 2
    }
}
