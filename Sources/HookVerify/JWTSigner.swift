import HookSupport
import HookNet
import HookHTTP
/// RS256 compact JWTs shaped like Gemini's dynamic-webhook signatures: the one signer behind
/// `hookhost send --jwt-key` and `hookhost demo`. Tests verify against an independent signer.
public enum JWTSigner {
    /// A token with header `{"alg":"RS256","kid":…,"typ":"JWT"}` over `claims` (a JSON object, raw).
    public static func token(key: RSAPrivateKey, keyID: String, claims: [UInt8]) -> String {
        var h = JSONWriter()
        h.beginObject(); h.field("alg", "RS256"); h.field("kid", keyID); h.field("typ", "JWT"); h.endObject()
        let input = Base64URL.encode(h.bytes) + "." + Base64URL.encode(claims)
        return input + "." + Base64URL.encode(key.signRS256(Array(input.utf8)))
    }

    /// Claims for one delivery: `iat`, `exp` (+5 min), `aud` when given, the body's SHA-256 and
    /// a random `jti`: the same body sent twice in one second under two ids is two tokens, each
    /// good for one delivery (the host refuses a token reused for another webhook-id).
    public static func claims(now: Double, audience: String?, body: [UInt8]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("iss", "hookhost send")
        if let audience { w.field("aud", audience) }
        w.field("iat", Int(now)); w.field("exp", Int(now) + 300)
        w.field("jti", Base64URL.encode(Crypto.randomBytes(12)))
        w.field("body_sha256", hexString(Crypto.sha256(body)))
        w.endObject()
        return w.bytes
    }

    /// The JWK Set `{"keys":[{…}]}` publishing the key's public half under `keyID`.
    public static func jwks(_ key: RSAPrivateKey, keyID: String) -> String {
        var w = JSONWriter()
        w.beginObject(); w.key("keys"); w.beginArray()
        w.beginObject()
        w.field("kty", "RSA"); w.field("use", "sig"); w.field("alg", "RS256"); w.field("kid", keyID)
        w.field("n", Base64URL.encode(key.modulus)); w.field("e", Base64URL.encode(key.exponent))
        w.endObject()
        w.endArray(); w.endObject()
        return w.string
    }

    /// The RFC 7638 thumbprint of the public key (base64url SHA-256): a stable, safe `kid`.
    public static func thumbprint(_ key: RSAPrivateKey) -> String {
        let canonical = #"{"e":""# + Base64URL.encode(key.exponent) + #"","kty":"RSA","n":""# + Base64URL.encode(key.modulus) + #""}"#
        return Base64URL.encode(Crypto.sha256(Array(canonical.utf8)))
    }
}
