import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// One delivery built and signed the way Gemini sends it: shared by `send` and `demo`, so both
/// exercise the same envelope, headers and signer (`WebhookSigner`) the verifier is tested against.
enum SignedDelivery {
    /// The thin envelope `{"type","version","timestamp","data"}` around a `data` JSON object (raw).
    static func envelope(type: String, data: String, at time: Double) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", type)
        w.field("version", "v1")
        w.field("timestamp", String(formatTimestamp(time).prefix(19)) + "Z")
        w.key("data"); w.raw(Array(data.utf8))
        w.endObject()
        return w.bytes
    }

    /// A POST of `body` signed with an RS256 JWT like Gemini's dynamic webhooks: `webhook-id`,
    /// `webhook-timestamp` and the token (over `JWTSigner.claims`) as `webhook-signature`.
    static func jwtRequest(url: String, key: RSAPrivateKey, kid: String, audience: String?, id: String, timestamp: String,
                           body: [UInt8]) -> ClientRequest {
        let claims = JWTSigner.claims(now: Double(timestamp) ?? SystemClock().now(), audience: audience, body: body)
        var req = ClientRequest(method: "POST", url: url)
        req.body = body
        req.headers = [("Content-Type", "application/json"), (WebhookHeader.id, id), (WebhookHeader.timestamp, timestamp),
                       (WebhookHeader.signature, JWTSigner.token(key: key, keyID: kid, claims: claims))]
        return req
    }

    /// A POST of `body` to `url` with Content-Type and the three signed webhook headers.
    static func request(url: String, secret: WebhookSecret, id: String, timestamp: String, body: [UInt8]) -> ClientRequest {
        var req = ClientRequest(method: "POST", url: url)
        req.body = body
        req.headers = [("Content-Type", "application/json")]
            + WebhookSigner.headers(secret: secret, id: id, timestamp: timestamp, body: body)
        return req
    }
}
