import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct JWTClaimsPolicyTests {
    func claims(_ json: String) -> JSON { try! JSONParser.parse(json) }

    @Test(arguments: [#"{"exp":1e999}"#, #"{"nbf":-1e999}"#, #"{"exp":-1e999}"#])
    func nonFiniteTimeClaimsAreRefused(_ json: String) {
        #expect(throws: JWTError.self) { try JWTClaimsPolicy().check(claims(json), body: [], now: 1_000) }
    }

    @Test func finiteSpellingsOfTimesStillWork() throws {
        for json in [#"{"exp":2000.0}"#, #"{"exp":2e3}"#, #"{"exp":99999999999999999999999}"#, #"{"nbf":-0}"#] {
            try JWTClaimsPolicy().check(claims(json), body: [], now: 1_000)
        }
    }

    @Test func audienceIsComparedWithoutCanonicalEquivalence() throws {
        let p = JWTClaimsPolicy(audience: "K-app")
        try p.check(claims(#"{"aud":"K-app"}"#), body: [], now: 0)
        #expect(throws: JWTError.audienceMismatch) { try p.check(claims(#"{"aud":"\u212a-app"}"#), body: [], now: 0) }
        #expect(throws: JWTError.audienceMismatch) { try p.check(claims(#"{"aud":["\u212a-app"]}"#), body: [], now: 0) }
        let e = JWTClaimsPolicy(audience: "e\u{301}")  // decomposed; the precomposed é is another string
        #expect(throws: JWTError.audienceMismatch) { try e.check(claims(#"{"aud":"\u00e9"}"#), body: [], now: 0) }
    }

    @Test func eventTypeClaimIsComparedWithoutCanonicalEquivalence() {
        #expect(throws: JWTError.bodyMismatch(claim: "event_type")) {
            try JWTClaimsPolicy().check(claims(#"{"event_type":"\u212a"}"#), body: bytes(#"{"type":"K"}"#), now: 0)
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
