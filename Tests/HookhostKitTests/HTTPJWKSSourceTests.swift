import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct HTTPJWKSSourceTests {
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
