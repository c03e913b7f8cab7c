import HookSupport
import HookNet
import HookHTTP
/// RS256 JWT delivery verification (PROTOCOL §3), split where a key may have to be fetched:
/// `precheck` needs no key, `verify` runs with one. Pure: time comes from the clock.
public struct JWTVerifier: Sendable {
    public let claims: JWTClaimsPolicy
    /// Seconds of allowed `webhook-timestamp` skew, checked when that header is present.
    public let tolerance: Double
    public let clock: any WallClock

    public init(claims: JWTClaimsPolicy = JWTClaimsPolicy(), tolerance: Double = 300, clock: any WallClock = SystemClock()) {
        self.claims = claims
        self.tolerance = tolerance
        self.clock = clock
    }

    /// The delivery id and the parsed token, after the header and token-syntax checks.
    public func precheck(_ m: WebhookMessage) throws(JWTError) -> (id: String, token: CompactJWS) {
        guard let id = m.id, !id.isEmpty else { throw .missingDeliveryID }
        if let ts = m.timestamp {
            do { _ = try WebhookVerifier(secrets: [], tolerance: tolerance, clock: clock).checkTimestamp(id: id, timestamp: ts) } catch {
                throw .timestamp(error)
            }
        }
        guard let sig = m.signature else { throw .segmentCount(0) }
        let token = try CompactJWS.parse(sig)
        // Before any key is looked up: another kind of token needs no JWKS fetch to be refused.
        try claims.checkType(token.type)
        return (id, token)
    }

    /// Checks the signature with `key`, then the claims against the body.
    public func verify(_ token: CompactJWS, id: String, key: RSAPublicKey, message m: WebhookMessage) throws(JWTError) -> VerifiedDelivery {
        try verifyForUse(token, id: id, key: key, message: m).delivery
    }

    /// `verify`, and the use of the token to remember against replays (until it expires).
    public func verifyForUse(_ token: CompactJWS, id: String, key: RSAPublicKey, message m: WebhookMessage) throws(JWTError)
        -> (delivery: VerifiedDelivery, use: TokenUse) {
        guard key.verifyRS256(signature: token.signature, message: token.signingInput) else { throw .badSignature }
        let until = try claims.check(token.claims, body: m.parsedBody, now: clock.now())
        let d = VerifiedDelivery(id: id, timestamp: m.timestamp, verifiedBy: .jwt, jwt: JWTIdentity(keyID: token.keyID, claims: token.claimsBytes))
        return (d, TokenUse(digest: token.digest, id: id, until: until))
    }

    /// Both steps with a key found synchronously (tests, tools).
    public func verify(_ m: WebhookMessage, keys: (String) -> RSAPublicKey?) throws(JWTError) -> VerifiedDelivery {
        let (id, token) = try precheck(m)
        guard let key = keys(token.keyID) else { throw .unknownKeyID(token.keyID, detail: "not in the key set") }
        return try verify(token, id: id, key: key, message: m)
    }
}
