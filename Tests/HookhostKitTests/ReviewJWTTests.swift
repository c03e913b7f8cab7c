import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// Hostile review of the JWT path: claim checks, the JWKS cache's schedule, Cache-Control.
@Suite struct ReviewJWTTests {
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

    @Test func aSourceThatNeverAnsweredIsRetriedWithBackoff() {
        // A host without HMAC secrets is not ready without keys, so no delivery comes to ask.
        let c = JWKSCacheConfig(minRefresh: 1)
        var s = JWKSState()
        #expect(s.nextFetchAt(c) == nil)  // never tried: only on demand
        s.begin(now: 100); s.failed("Couldn't connect to server", now: 100)
        #expect(s.nextFetchAt(c) == 105)
        s.begin(now: 105); s.failed("Couldn't connect to server", now: 105)
        #expect(s.nextFetchAt(c) == 115)
    }

    @Test func aRemovedJWKSFileIsNotReReadOnEveryPoll() throws {
        let dir = makeTempDir("jwks")
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/jwks.json"
        writeFile(path, JWTFixtures.jwks)
        let source = FileJWKSSource(path: path)
        _ = try source.fetch()
        #expect(!source.changed())
        unlink(path)
        #expect(source.changed())
        #expect(throws: JWKSFetchError.self) { _ = try source.fetch() }
        #expect(!source.changed())  // still missing: the cache's backoff retries, not the 2 s poll
        writeFile(path, JWTFixtures.jwks)
        #expect(source.changed())
    }

    @Test func cacheControlMaxAge() {
        let cases: [(String, Double?)] = [
            ("public, max-age=600", 600),
            ("max-age=\"600\"", 600),  // RFC 9111 §5.2: recipients accept the quoted form
            ("max-age=600, max-age=5", 600),  // the first counts
            ("no-store", 0), ("no-cache, max-age=600", 0),
            ("public", nil), ("max-agent=5", nil),
            // Invalid freshness information: stale (0, the cache's floor), not "absent" (1 h).
            ("max-age=1e999", 0), ("max-age=-1", 0), ("max-age=soon", 0), ("max-age=", 0), ("max-age", 0), ("max-age=1.5", 0),
        ]
        for (header, expected) in cases {
            #expect(HTTPJWKSSource.maxAge(header) == expected, "\(header)")
        }
        // Too large to represent: large (RFC 9111 §1.2.2), so the cache's ceiling, not the 1 h default.
        let huge = HTTPJWKSSource.maxAge("max-age=" + String(repeating: "9", count: 400))
        #expect(huge.map { $0 >= 86_400 } == true)
        var s = JWKSState()
        s.begin(now: 0); s.succeeded(try! JWKSet.parse(bytes(JWTFixtures.jwks)), maxAge: huge, now: 0, JWKSCacheConfig())
        #expect(s.lifetime == 86_400)
    }
}
