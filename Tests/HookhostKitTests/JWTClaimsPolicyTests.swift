import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// A JWT is a licence for one delivery, for a bounded time: tokens from an independent signer
/// (JWTPolicyFixtures, made by PyJWT + cryptography) against the default policy and against
/// each setting that relaxes a rule.
@Suite struct JWTClaimsPolicyTests {
    static let set = try! JWKSet.parse(bytes(JWTPolicyFixtures.jwks))
    static let t0 = JWTPolicyFixtures.t0

    static var defaults: JWTClaimsPolicy { JWTClaimsPolicy(audience: JWTPolicyFixtures.audience) }

    /// Verifies a fixture token as delivery `wh_1`; returns until when it is remembered.
    @discardableResult
    func verify(_ name: String, at t: Double = JWTClaimsPolicyTests.t0, policy: JWTClaimsPolicy = JWTClaimsPolicyTests.defaults,
                body: String = JWTPolicyFixtures.body) throws(JWTError) -> Double {
        let v = JWTVerifier(claims: policy, tolerance: 300, clock: FixedClock(t))
        let m = WebhookMessage(id: "wh_1", timestamp: nil, signature: JWTPolicyFixtures.token(name), body: bytes(body))
        let (id, token) = try v.precheck(m)
        guard let key = Self.set.keys[token.keyID] else { throw .unknownKeyID(token.keyID, detail: "not in the key set") }
        return try v.verifyForUse(token, id: id, key: key, message: m).use.until
    }

    func policy(_ change: (inout JWTClaimsPolicy) -> Void) -> JWTClaimsPolicy {
        var p = Self.defaults
        change(&p)
        return p
    }

    @Test(arguments: ["standard", "standardAgain", "typAbsent", "typApplicationJwt", "dataSame", "dataString", "expOnly", "iatOnly"])
    func wellFormedTokensVerifyByDefault(_ name: String) throws {
        try verify(name)
    }

    @Test func theTokenIsRememberedUntilItCouldNoLongerVerify() throws {
        #expect(try verify("standard") == Self.t0 + 300 + 60)  // exp + leeway
        #expect(try verify("expOnly") == Self.t0 + 300 + 60)
        #expect(try verify("iatOnly") == Self.t0 + 300)  // iat + HOOKHOST_TOLERANCE
    }

    @Test func aTokenWithNeitherExpNorIatIsRefusedUnlessRelaxed() throws {
        #expect(throws: JWTError.missingExpiry) { try verify("noTimes") }
        // Relaxed, it verifies and is remembered as long as a webhook-id.
        let relaxed = policy { $0.requireExpiry = false; $0.untimedMemory = 1000 }
        #expect(try verify("noTimes", policy: relaxed) == Self.t0 + 1000)
        #expect(try verify("noTimes", at: Self.t0 + 10 * 86_400, policy: relaxed) == Self.t0 + 10 * 86_400 + 1000)
    }

    @Test func aLifetimeLongerThanTheMaximumIsRefused() throws {
        #expect(throws: JWTError.lifetimeTooLong(seconds: 7200, limit: 3600, fromIssue: true)) { try verify("lifetime7200") }
        try verify("lifetime7200", policy: policy { $0.maxLifetime = 7200 })
        // Without iat the lifetime is exp - now, with the leeway for a clock running ahead.
        #expect(throws: JWTError.lifetimeTooLong(seconds: 86_400, limit: 3600, fromIssue: false)) { try verify("farExpNoIat") }
        let exp = Self.t0 + 86_400
        try verify("farExpNoIat", at: exp - 3660)
        #expect(throws: JWTError.lifetimeTooLong(seconds: 3661, limit: 3600, fromIssue: false)) { try verify("farExpNoIat", at: exp - 3661) }
        try verify("farExpNoIat", policy: policy { $0.maxLifetime = 86_400 })
    }

    @Test func iatWithoutExpMustBeRecentAndIatMustNotLieAhead() throws {
        try verify("iatOnly", at: Self.t0 + 300)
        #expect(throws: JWTError.issuedTooLongAgo(tolerance: 300)) { try verify("iatOnly", at: Self.t0 + 301) }
        try verify("iatOnly", at: Self.t0 + 86_400, policy: policy { $0.requireExpiry = false })
        // iat 600 s ahead: refused until it is within the 60 s leeway.
        #expect(throws: JWTError.issuedInFuture) { try verify("futureIat") }
        #expect(throws: JWTError.issuedInFuture) { try verify("futureIat", at: Self.t0 + 539) }
        try verify("futureIat", at: Self.t0 + 540)
        #expect(throws: JWTError.invalidTimeClaim("iat")) { try verify("iatString") }
    }

    @Test func typMustNameAJWTWhenPresent() throws {
        #expect(throws: JWTError.typeNotAllowed("at+jwt")) { try verify("typAtJwt") }
        #expect(throws: JWTError.typeNotAllowed("(not a string)")) { try verify("typNumber") }
        try verify("typAtJwt", policy: policy { $0.acceptedTypes = [] })  // HOOKHOST_JWT_TYPES=*
        let accessTokensOnly = policy { $0.acceptedTypes = ["application/AT+JWT"] }
        try verify("typAtJwt", policy: accessTokensOnly)
        #expect(throws: JWTError.typeNotAllowed("JWT")) { try verify("standard", policy: accessTokensOnly) }
    }

    @Test func typIsRefusedBeforeAnyKeyIsLookedUp() {
        // precheck alone (no key, so no JWKS fetch for a token of another kind).
        let v = JWTVerifier(claims: Self.defaults, clock: FixedClock(Self.t0))
        let m = WebhookMessage(id: "i", timestamp: nil, signature: JWTPolicyFixtures.token("typAtJwt"), body: [])
        #expect(throws: JWTError.typeNotAllowed("at+jwt")) { try v.precheck(m) }
    }

    @Test func issMustEqualTheConfiguredIssuer() throws {
        let p = policy { $0.issuer = JWTPolicyFixtures.issuer }
        try verify("standard", policy: p)
        #expect(throws: JWTError.issuerMismatch) { try verify("issOther", policy: p) }
        #expect(throws: JWTError.missingIssuer) { try verify("issAbsent", policy: p) }
        try verify("issOther")  // not configured: not checked
    }

    @Test func aDataClaimObjectMustBeTheBodysData() throws {
        #expect(throws: JWTError.bodyMismatch(claim: "data")) { try verify("dataOther") }
        #expect(throws: JWTError.bodyMismatch(claim: "data")) { try verify("dataSubset") }
        #expect(throws: JWTError.bodyMismatch(claim: "data")) { try verify("dataSame", body: #"{"type":"batch.succeeded"}"#) }
        try verify("dataSame")  // member order does not matter
        try verify("dataString", body: #"{"type":"batch.succeeded"}"#)  // not an object: another claim of that name
    }

    @Test func everyRefusalNamesItsCheckAndTheSettingThatRelaxesIt() {
        #expect(JWTError.missingExpiry.description.contains("HOOKHOST_JWT_REQUIRE_EXPIRY"))
        #expect(JWTError.lifetimeTooLong(seconds: 7200, limit: 3600, fromIssue: true).description
            == "JWT lifetime of 7200 s (exp - iat) is longer than the 3600 s allowed (HOOKHOST_JWT_MAX_LIFETIME)")
        #expect(JWTError.issuedTooLongAgo(tolerance: 300).description.contains("HOOKHOST_TOLERANCE"))
        #expect(JWTError.issuerMismatch.description.contains("HOOKHOST_JWT_ISSUER"))
        #expect(JWTError.typeNotAllowed("at+jwt").description.contains("HOOKHOST_JWT_TYPES"))
        #expect(JWTError.tokenReused.description.contains("another webhook-id"))
    }

    // From the hostile review of the claim checks.
    func claims(_ json: String) -> JSON { try! JSONParser.parse(json) }

    @Test(arguments: [#"{"exp":1e999}"#, #"{"nbf":-1e999}"#, #"{"exp":-1e999}"#])
    func nonFiniteTimeClaimsAreRefused(_ json: String) {
        #expect(throws: JWTError.self) { try JWTClaimsPolicy().check(claims(json), body: [], now: 1_000) }
    }

    @Test func finiteSpellingsOfTimesStillWork() throws {
        for json in [#"{"exp":2000.0}"#, #"{"exp":2e3}"#] {
            try JWTClaimsPolicy().check(claims(json), body: [], now: 1_000)
        }
        for json in [#"{"exp":99999999999999999999999}"#, #"{"nbf":-0}"#] {
            try JWTClaimsPolicy.lenient().check(claims(json), body: [], now: 1_000)
        }
        // By default a finite exp centuries away is still a token that never expires.
        #expect(throws: JWTError.self) { try JWTClaimsPolicy().check(claims(#"{"exp":99999999999999999999999}"#), body: [], now: 1_000) }
    }

    @Test func audienceIsComparedWithoutCanonicalEquivalence() throws {
        let p = JWTClaimsPolicy.lenient(audience: "K-app")
        try p.check(claims(#"{"aud":"K-app"}"#), body: [], now: 0)
        #expect(throws: JWTError.audienceMismatch) { try p.check(claims(#"{"aud":"\u212a-app"}"#), body: [], now: 0) }
        #expect(throws: JWTError.audienceMismatch) { try p.check(claims(#"{"aud":["\u212a-app"]}"#), body: [], now: 0) }
        let e = JWTClaimsPolicy.lenient(audience: "e\u{301}")  // decomposed; the precomposed é is another string
        #expect(throws: JWTError.audienceMismatch) { try e.check(claims(#"{"aud":"\u00e9"}"#), body: [], now: 0) }
    }

    @Test func eventTypeClaimIsComparedWithoutCanonicalEquivalence() {
        #expect(throws: JWTError.bodyMismatch(claim: "event_type")) {
            try JWTClaimsPolicy.lenient().check(claims(#"{"event_type":"\u212a"}"#), body: bytes(#"{"type":"K"}"#), now: 0)
        }
    }

    @Test func eventObjectNumbersCompareAsExactDecimals() {
        func same(_ a: String, _ b: String) -> Bool { JWTClaimsPolicy.sameJSON(claims(a), claims(b)) }
        #expect(same("[1, 1.0, 10e-1, 0.1e1, 100, 1e2, 0, -0, 0.0e9, 1.50]", "[1.00, 1, 1, 1, 1E+2, 100.000, -0.0, 0, 0, 15e-1]"))
        #expect(!same("9007199254740993", "9007199254740992"))
        #expect(!same("1e400", "7e999"))
        #expect(!same("-1", "1"))
        #expect(!same("1e-400", "0"))
        #expect(!same("123456789012345678901234567890", "123456789012345678901234567891"))
        #expect(!same("1e1000000000000000000", "1e1000000000000000001"))
        #expect(same("1e1000000000000000000", "1e1000000000000000000"))
        #expect(!same(#"{"k":"\u212a"}"#, #"{"k":"K"}"#))
        #expect(!same(#"{"\u212a":1}"#, #"{"K":1}"#))
    }
}
