import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// Tokens from an independent signer (JWTFixtures, made by PyJWT + cryptography) against the
/// verifier: the valid ones verify, every rejection is named.
@Suite struct JWTVerifierTests {
    static let set = try! JWKSet.parse(bytes(JWTFixtures.jwks))

    /// `lenient`: without the lifetime rules, for tokens that test other checks and carry no times.
    func verify(_ token: String, at t: Double = JWTFixtures.t0, audience: String? = "hookhost-test", id: String? = "wh_jwt_1",
                timestamp: String? = nil, body: String = JWTFixtures.body, lenient: Bool = false) throws(JWTError) -> VerifiedDelivery {
        let policy = lenient ? JWTClaimsPolicy.lenient(audience: audience) : JWTClaimsPolicy(audience: audience)
        let v = JWTVerifier(claims: policy, tolerance: 300, clock: FixedClock(t))
        return try v.verify(WebhookMessage(id: id, timestamp: timestamp, signature: token, body: bytes(body)), keys: { Self.set.keys[$0] })
    }

    @Test(arguments: ["valid", "validBodyHash", "validBodyHashBase64url", "validEvent", "validEventObject"])
    func validTokensVerify(_ name: String) throws {
        let d = try verify(JWTFixtures.token(name))
        #expect(d.id == "wh_jwt_1" && d.verifiedBy == .jwt && d.jwt?.keyID == JWTFixtures.kid)
        // The claims are handed on byte for byte, as the token carried them.
        let payload = JWTFixtures.token(name).split(separator: ".")[1]
        #expect(d.jwt?.claims == Base64URL.decode(payload))
    }

    @Test func aTokenWithoutExpOrIatVerifiesOnlyWhenThatIsAllowed() throws {
        // {"aud":[…]} alone: it would verify for ever, for any body and any number of ids.
        #expect(throws: JWTError.missingExpiry) { try verify(JWTFixtures.token("audArray")) }
        #expect(try verify(JWTFixtures.token("audArray"), lenient: true).jwt?.keyID == JWTFixtures.kid)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let token: String
        let error: JWTError
        var audience: String? = "hookhost-test"
        var testDescription: String { name }
    }

    static let valid = JWTFixtures.token("valid")
    static let parts = valid.split(separator: ".").map(String.init)
    static let cases: [Case] = [
        Case(name: "alg none", token: JWTFixtures.token("algNone"), error: .algorithmNotAllowed("none")),
        Case(name: "HS256 keyed with the public key", token: JWTFixtures.token("hs256WithPublicKey"), error: .algorithmNotAllowed("HS256")),
        Case(name: "RS512", token: JWTFixtures.token("rs512"), error: .algorithmNotAllowed("RS512")),
        Case(name: "PS256", token: JWTFixtures.token("ps256"), error: .algorithmNotAllowed("PS256")),
        Case(name: "missing alg", token: JWTFixtures.token("missingAlg"), error: .missingAlgorithm),
        Case(name: "alg not a string", token: JWTFixtures.token("algNotString"), error: .algorithmNotAllowed("(not a string)")),
        Case(name: "missing kid", token: JWTFixtures.token("missingKid"), error: .missingKeyID),
        Case(name: "kid with path characters", token: JWTFixtures.token("kidWithPath"), error: .unsafeKeyID),
        Case(name: "kid with a slash", token: JWTFixtures.token("kidWithSlash"), error: .unsafeKeyID),
        Case(name: "crit extension", token: JWTFixtures.token("crit"), error: .criticalExtension),
        Case(name: "repeated alg in the header", token: JWTFixtures.token("duplicateAlg"), error: .duplicateMember(segment: "header", name: "alg")),
        Case(name: "repeated exp in the payload", token: JWTFixtures.token("duplicateExp"), error: .duplicateMember(segment: "payload", name: "exp")),
        Case(name: "non-JSON header", token: JWTFixtures.token("headerNotJSON"), error: .notJSONObject(segment: "header")),
        Case(name: "header is an array", token: JWTFixtures.token("headerArray"), error: .notJSONObject(segment: "header")),
        Case(name: "non-JSON payload", token: JWTFixtures.token("payloadNotJSON"), error: .notJSONObject(segment: "payload")),
        Case(name: "oversized token", token: JWTFixtures.token("oversized"), error: .tooLarge(limit: CompactJWS.maxBytes)),
        Case(name: "signed by another key under our kid", token: JWTFixtures.token("otherKeySameKid"), error: .badSignature),
        Case(name: "e=3 key (refused from the JWKS)", token: JWTFixtures.token("e3Key"), error: .unknownKeyID("e3-key", detail: "not in the key set")),
        Case(name: "1024-bit key (refused from the JWKS)", token: JWTFixtures.token("smallKey"), error: .unknownKeyID("small-key", detail: "not in the key set")),
        Case(name: "body hash claim does not match", token: JWTFixtures.token("wrongBodyHash"), error: .bodyMismatch(claim: "body_sha256")),
        Case(name: "event claim does not match", token: JWTFixtures.token("wrongEvent"), error: .bodyMismatch(claim: "event")),
        Case(name: "exp not a number", token: JWTFixtures.token("expString"), error: .invalidTimeClaim("exp"), audience: nil),
        Case(name: "audience differs", token: valid, error: .audienceMismatch, audience: "someone-else"),
        Case(name: "no aud while an audience is required", token: JWTFixtures.token("noAud"), error: .missingAudience),
        // Malformed base64url and structure, derived from a valid token.
        Case(name: "two segments", token: parts[0] + "." + parts[1], error: .segmentCount(2)),
        Case(name: "four segments", token: valid + ".x", error: .segmentCount(4)),
        Case(name: "empty signature", token: parts[0] + "." + parts[1] + ".", error: .malformedBase64(segment: "signature")),
        Case(name: "padded header", token: parts[0] + "=." + parts[1] + "." + parts[2], error: .malformedBase64(segment: "header")),
        Case(name: "standard alphabet in the signature", token: parts[0] + "." + parts[1] + "." + parts[2].replacingAll("-", "+").replacingAll("_", "/") + "+",
             error: .malformedBase64(segment: "signature")),
        Case(name: "impossible length", token: parts[0] + "." + parts[1] + String(repeating: "A", count: (5 - parts[1].count % 4) % 4) + "." + parts[2], error: .malformedBase64(segment: "payload")),
        Case(name: "tampered signature (middle character)", token: parts[0] + "." + parts[1] + "." + tamperMiddle(parts[2]), error: .badSignature),
        Case(name: "tampered payload", token: parts[0] + "." + Base64URL.encode(bytes("{\"aud\":\"hookhost-test\",\"exp\":1777896300}")) + "." + parts[2],
             error: .badSignature),
    ]

    static func tamperMiddle(_ s: String) -> String {
        var c = Array(s)
        let i = c.count / 2
        c[i] = c[i] == "A" ? "B" : "A"
        return String(c)
    }

    @Test(arguments: cases)
    func rejects(_ c: Case) {
        #expect(throws: c.error) { try verify(c.token, audience: c.audience) }
    }

    @Test func nonCanonicalLastCharacterIsRefused() throws {
        // 256 signature bytes → 342 characters, the last one carrying 4 unused bits.
        let sig = Self.parts[2]
        let last = sig.last!
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let variant = String(sig.dropLast()) + String(alphabet[alphabet.firstIndex(of: last)! | 1])
        #expect(Base64.decode(variant) == Base64.decode(sig))
        #expect(throws: JWTError.malformedBase64(segment: "signature")) { try verify(Self.parts[0] + "." + Self.parts[1] + "." + variant) }
    }

    @Test(arguments: [(60.0, true), (61.0, false)])
    func expLeeway(_ after: Double, _ ok: Bool) {
        let r = Result { () throws(JWTError) in try verify(JWTFixtures.token("expAtT0"), at: JWTFixtures.t0 + after, audience: nil) }
        if ok { #expect((try? r.get()) != nil) } else { #expect(throws: JWTError.expired) { try r.get() } }
    }

    @Test(arguments: [(60.0, true), (61.0, false)])
    func nbfLeeway(_ before: Double, _ ok: Bool) {
        let r = Result { () throws(JWTError) in try verify(JWTFixtures.token("nbfAtT0"), at: JWTFixtures.t0 - before, audience: nil, lenient: true) }
        if ok { #expect((try? r.get()) != nil) } else { #expect(throws: JWTError.notYetValid) { try r.get() } }
    }

    @Test func expiredStandardToken() {
        #expect(throws: JWTError.expired) { try verify(Self.valid, at: JWTFixtures.t0 + 300 + 61) }
    }

    @Test func webhookTimestampIsCheckedOnlyWhenPresent() throws {
        _ = try verify(Self.valid, timestamp: nil)
        _ = try verify(Self.valid, timestamp: String(Int(JWTFixtures.t0) - 300))
        #expect(throws: JWTError.timestamp(.timestampTooOld)) { try verify(Self.valid, timestamp: String(Int(JWTFixtures.t0) - 301)) }
        #expect(throws: JWTError.timestamp(.timestampTooNew)) { try verify(Self.valid, timestamp: String(Int(JWTFixtures.t0) + 301)) }
        #expect(throws: JWTError.timestamp(.invalidTimestamp)) { try verify(Self.valid, timestamp: "soon") }
    }

    @Test func deliveryIDIsRequired() {
        #expect(throws: JWTError.missingDeliveryID) { try verify(Self.valid, id: nil) }
        #expect(throws: JWTError.missingDeliveryID) { try verify(Self.valid, id: "") }
    }

    @Test func bodyHashBindsTheBodyExactly() {
        #expect(throws: JWTError.bodyMismatch(claim: "body_sha256")) {
            try verify(JWTFixtures.token("validBodyHash"), body: JWTFixtures.body + " ")
        }
        // Without a binding claim, the body is used as is.
        #expect((try? verify(Self.valid, body: #"{"type":"anything"}"#)) != nil)
    }

    @Test func errorsNeverEchoTheToken() {
        for c in Self.cases { #expect(!c.error.description.contains(Self.parts[2].prefix(20))) }
    }
}

@Suite struct JWKSetTests {
    @Test func onlyUsableRS256KeysAreKeptAndTheRestAreNamed() throws {
        let set = try JWKSet.parse(bytes(JWTFixtures.jwks))
        #expect(Array(set.keys.keys) == [JWTFixtures.kid])
        #expect(set.keys[JWTFixtures.kid]?.bits == 2048)
        let reasons = set.skipped.joined(separator: "\n")
        #expect(reasons.contains("kid e3-key: RSA exponent must be odd and at least 65537"))
        #expect(reasons.contains("kid small-key: RSA modulus of 1024 bits is below the minimum of 2048"))
        #expect(reasons.contains("key #3: kid has unsafe characters"))
        #expect(reasons.contains("kid ec-key: kty is not RSA"))
        #expect(reasons.contains("kid enc-key: use is not sig"))
    }

    @Test func aDocumentWithoutUsableKeysIsAnError() {
        #expect(throws: JWKSError.self) { try JWKSet.parse(bytes(#"{"keys":[]}"#)) }
        #expect(throws: JWKSError.self) { try JWKSet.parse(bytes(#"{"nokeys":1}"#)) }
        #expect(throws: JWKSError.self) { try JWKSet.parse(bytes("not json")) }
    }

    @Test func smallExponentsAreRefused() throws {
        let n = try #require(Base64URL.decode(JWTFixtures.e3Modulus))
        #expect(throws: RSAKeyError.weakExponent) { try RSAPublicKey(modulus: n, exponent: [3]) }
        #expect(throws: RSAKeyError.weakExponent) { try RSAPublicKey(modulus: n, exponent: [0x01, 0x00, 0x00]) }  // even
        #expect(throws: RSAKeyError.weakExponent) { try RSAPublicKey(modulus: n, exponent: [0x00, 0xFF, 0xFF]) }  // 65535
        #expect(try RSAPublicKey(modulus: n, exponent: [0x01, 0x00, 0x01]).bits == 2048)
    }
}
