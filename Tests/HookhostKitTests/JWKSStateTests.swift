import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct JWKSStateTests {
    static let set = try! JWKSet.parse(bytes(JWTFixtures.jwks))
    let c = JWKSCacheConfig(minRefresh: 10)

    @Test func unknownKidFetchesAtMostOncePerMinRefresh() {
        var s = JWKSState()
        guard case .wait = s.lookup("k", now: 100, c) else { Issue.record("first miss should fetch"); return }
        // A second miss while that fetch is pending joins it.
        guard case .wait = s.lookup("j", now: 100, c) else { Issue.record("should join the pending fetch"); return }
        s.begin(now: 100)
        s.succeeded(Self.set, maxAge: nil, now: 101, c)
        guard case .unknown(let why) = s.lookup("k", now: 105, c) else { Issue.record("rate limit"); return }
        #expect(why.contains("refetched at most every 10 s"))
        guard case .wait = s.lookup("k", now: 110, c) else { Issue.record("allowed again after minRefresh"); return }
        guard case .found = s.lookup(JWTFixtures.kid, now: 110, c) else { Issue.record("known kid"); return }
    }

    @Test func maxAgeIsClampedAndRefreshComesBeforeExpiry() {
        var s = JWKSState()
        #expect(s.nextFetchAt(c) == nil)  // never loaded: only on demand
        s.begin(now: 0); s.succeeded(Self.set, maxAge: 1, now: 0, c)
        #expect(s.lifetime == 60)  // floor
        s.begin(now: 0); s.succeeded(Self.set, maxAge: 10_000_000, now: 0, c)
        #expect(s.lifetime == 86_400)  // ceiling
        s.begin(now: 0); s.succeeded(Self.set, maxAge: 1000, now: 0, c)
        #expect(s.nextFetchAt(c) == 800)
    }

    @Test func failuresKeepTheKeysAndBackOff() {
        var s = JWKSState()
        s.begin(now: 0); s.succeeded(Self.set, maxAge: 1000, now: 0, c)
        s.begin(now: 800); s.failed("connection refused", now: 800)
        guard case .found = s.lookup(JWTFixtures.kid, now: 801, c) else { Issue.record("keys kept"); return }
        #expect(s.nextFetchAt(c) == 810)
        s.begin(now: 810); s.failed("connection refused", now: 810)
        #expect(s.nextFetchAt(c) == 830)
        guard case .unknown(let why) = s.lookup("new", now: 815, c) else { Issue.record("rate limited"); return }
        #expect(why.contains("could not be fetched: connection refused"))
        for i in 0..<20 { s.begin(now: 900 + Double(i)); s.failed("x", now: 900 + Double(i)) }
        #expect(s.retryDelay(c) == 300)
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
}
