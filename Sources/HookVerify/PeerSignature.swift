import HookSupport
import HookNet
import HookHTTP

/// Why `HOOKHOST_PEER_SECRET` is not usable. Never echoes the secret.
public enum PeerSecretError: Error, Equatable, CustomStringConvertible {
    case tooShort(bytes: Int)
    case invalidBase64
    case keyTooShort(bytes: Int)
    case controlCharacters

    public var description: String {
        switch self {
        case .tooShort(let n):
            "is \(n) bytes of text; give at least \(PeerSecret.minTextBytes) (or whsec_ and base64 of at least \(PeerSecret.minKeyBytes) random bytes)"
        case .invalidBase64: "starts with whsec_ but the rest is not valid base64"
        case .keyTooShort(let n): "is a whsec_ secret of \(n) bytes; give at least \(PeerSecret.minKeyBytes)"
        case .controlCharacters: "contains spaces or control characters"
        }
    }
}

/// The secret replicas share to sign hand-overs (`HOOKHOST_PEER_SECRET`): `whsec_<base64>` of at
/// least 24 random bytes (the key is the decoded bytes, as for webhook secrets), or plain text of
/// at least 32 bytes (the key is the text's bytes). Kept apart from the webhook secrets: a
/// sender's secret must never let it hand deliveries in as a replica.
public struct PeerSecret: Sendable, Equatable, CustomStringConvertible {
    public static let minTextBytes = 32
    public static let minKeyBytes = 24
    let key: [UInt8]
    /// A short non-reversible tag for logs, so two replicas' secrets can be compared by eye.
    public let fingerprint: String

    public init(_ text: String) throws(PeerSecretError) {
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw .controlCharacters }
        if text.hasPrefix(WebhookSecret.prefix) {
            guard let key = Base64.decode(text.dropFirst(WebhookSecret.prefix.count)) else { throw .invalidBase64 }
            guard key.count >= PeerSecret.minKeyBytes else { throw .keyTooShort(bytes: key.count) }
            self.init(key: key)
        } else {
            guard text.utf8.count >= PeerSecret.minTextBytes else { throw .tooShort(bytes: text.utf8.count) }
            self.init(key: Array(text.utf8))
        }
    }

    init(key: [UInt8]) {
        self.key = key
        fingerprint = String(hexString(Crypto.sha256(key)).prefix(8))
    }

    public var description: String { "peer secret …(\(fingerprint))" }
}

/// The hand-over's own headers (the id travels as `webhook-id`, so a load balancer hashing on it
/// routes a hand-over like the delivery it carries).
public enum PeerHeader {
    public static let timestamp = "hookhost-peer-timestamp"
    public static let signature = "hookhost-peer-signature"
}

/// Why a hand-over's signature was refused. Names the check, never the secret.
public enum PeerSignatureError: Error, Equatable, CustomStringConvertible {
    case missingHeader(String)
    case invalidTimestamp
    case timestampTooOld
    case timestampTooNew
    case noMatchingSignature

    public var description: String {
        switch self {
        case .missingHeader(let h): "missing \(h) header"
        case .invalidTimestamp: "\(PeerHeader.timestamp) is not an integer of Unix seconds"
        case .timestampTooOld: "\(PeerHeader.timestamp) is too old (outside the tolerance)"
        case .timestampTooNew: "\(PeerHeader.timestamp) is too new (outside the tolerance)"
        case .noMatchingSignature: "\(PeerHeader.signature) does not match (is HOOKHOST_PEER_SECRET the same on both replicas?)"
        }
    }
}

/// Signing and verifying hand-overs between replicas: `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`,
/// the Standard Webhooks recipe under headers of its own. Pure: the time is passed in.
public enum PeerSignature {
    public static func sign(secret: PeerSecret, id: String, timestamp: String, body: [UInt8]) -> String {
        "v1," + WebhookSigner.encodedMAC(key: secret.key, content: WebhookSigner.signedContent(id: id, timestamp: timestamp, body: body))
    }

    /// The headers of a hand-over request: `webhook-id`, the peer timestamp and signature.
    public static func headers(secret: PeerSecret, id: String, timestamp: String, body: [UInt8]) -> [(String, String)] {
        [(WebhookHeader.id, id), (PeerHeader.timestamp, timestamp), (PeerHeader.signature, sign(secret: secret, id: id, timestamp: timestamp, body: body))]
    }

    /// Checks the timestamp window (± `tolerance` around `now`), then every `v1,` entry against
    /// the secret in constant time.
    public static func verify(secret: PeerSecret, id: String?, timestamp: String?, signature: String?, body: [UInt8],
                              now: Double, tolerance: Double = 300) throws(PeerSignatureError) {
        guard let id, !id.isEmpty else { throw .missingHeader(WebhookHeader.id) }
        guard let timestamp, !timestamp.isEmpty else { throw .missingHeader(PeerHeader.timestamp) }
        guard let signature, !signature.isEmpty else { throw .missingHeader(PeerHeader.signature) }
        guard WebhookVerifier.isTimestampSyntax(timestamp), let seconds = Int(timestamp) else { throw .invalidTimestamp }
        if Double(seconds) < now - tolerance { throw .timestampTooOld }
        if Double(seconds) > now + tolerance { throw .timestampTooNew }
        let mac = Array(WebhookSigner.encodedMAC(key: secret.key, content: WebhookSigner.signedContent(id: id, timestamp: timestamp, body: body)).utf8)
        var matched = false
        for entry in WebhookVerifier.v1Entries(signature) where Crypto.constantTimeEqual(mac, entry) { matched = true }
        guard matched else { throw .noMatchingSignature }
    }
}
