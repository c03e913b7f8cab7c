import HookSupport
import HookNet
import HookHTTP
/// Standard Webhooks v1 (HMAC-SHA256) signing: the one signer behind `hookhost send`,
/// `hookhost demo`, the verifier and its tests, so what we send is exactly what we accept. Pure.
public enum WebhookSigner {
    /// The `v1,<base64>` signature of a message (canonical, padded, standard alphabet).
    public static func signature(secret: WebhookSecret, id: String, timestamp: String, body: [UInt8]) -> String {
        "v1," + encodedMAC(key: secret.key, content: signedContent(id: id, timestamp: timestamp, body: body))
    }

    /// The three Standard Webhooks headers for a message, in the order Gemini sends them.
    public static func headers(secret: WebhookSecret, id: String, timestamp: String, body: [UInt8]) -> [(String, String)] {
        [(WebhookHeader.id, id), (WebhookHeader.timestamp, timestamp),
         (WebhookHeader.signature, signature(secret: secret, id: id, timestamp: timestamp, body: body))]
    }

    /// `id.timestamp.body`, header values exactly as given and the body byte for byte.
    static func signedContent(id: String, timestamp: String, body: [UInt8]) -> [UInt8] {
        var content: [UInt8] = []
        content.reserveCapacity(id.utf8.count + timestamp.utf8.count + body.count + 2)
        content.append(contentsOf: id.utf8)
        content.append(UInt8(ascii: "."))
        content.append(contentsOf: timestamp.utf8)
        content.append(UInt8(ascii: "."))
        content.append(contentsOf: body)
        return content
    }

    /// The base64 text after `v1,`. The verifier compares this text, not decoded bytes: the
    /// reference libraries do, so only the canonical spelling of a signature is valid.
    static func encodedMAC(key: [UInt8], content: [UInt8]) -> String {
        Base64.encode(Crypto.hmacSHA256(key: key, data: content))
    }
}
