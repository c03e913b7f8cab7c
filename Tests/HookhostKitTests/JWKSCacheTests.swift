import Dispatch
import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// A JWKS source tests control: counts fetches, can fail, can be slow.
final class FakeJWKSSource: JWKSSource {
    let document = Mutex<Result<JWKSDocument, JWKSFetchError>>(.success(JWKSDocument(bytes: bytes(JWTFixtures.jwks), maxAge: nil)))
    let fetches = Atomic<Int>(0)
    let delay: Double
    init(delay: Double = 0) { self.delay = delay }
    var location: String { "fake" }
    var pollInterval: Double? { nil }
    func changed() -> Bool { false }
    func fetch() throws(JWKSFetchError) -> JWKSDocument {
        fetches.add(1, ordering: .relaxed)
        if delay > 0 { usleep(UInt32(delay * 1e6)) }
        return try document.withLock { $0 }.get()
    }
}

/// Waits for an asynchronous key lookup.
func keySync(_ c: JWKSCache, _ kid: String) -> Result<RSAPublicKey, AuthenticationError> {
    let sem = DispatchSemaphore(value: 0)
    let box = Mutex<Result<RSAPublicKey, AuthenticationError>?>(nil)
    c.key(for: kid) { r in box.withLock { $0 = r }; sem.signal() }
    sem.wait()
    return box.withLock { $0! }
}

@Suite struct JWKSCacheTests {
    @Test func unknownKidWaitsForOneFetchOffTheCallersThread() throws {
        let source = FakeJWKSSource(delay: 0.05)
        let cache = JWKSCache(source: source, config: JWKSCacheConfig(minRefresh: 10), logger: quietLogger)
        cache.start()
        defer { cache.stop() }
        // 200 lookups of unknown kids at once: one fetch, every one answered.
        let answered = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
        let group = DispatchGroup()
        for i in 0..<200 {
            group.enter()
            cache.key(for: "random-\(i)") { r in
                if case .failure(.jwt(.unknownKeyID)) = r { refused.add(1, ordering: .relaxed) }
                answered.add(1, ordering: .relaxed)
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(answered.load(ordering: .relaxed) == 200 && refused.load(ordering: .relaxed) == 200)
        #expect(source.fetches.load(ordering: .relaxed) == 1)
        // The known kid is answered at once from the cache, without a fetch.
        #expect((try? keySync(cache, JWTFixtures.kid).get()) != nil)
        #expect(source.fetches.load(ordering: .relaxed) == 1)
    }

    @Test func sourceDownKeepsTheLastGoodKeysAndNewKidsFailClosed() throws {
        let source = FakeJWKSSource()
        let cache = JWKSCache(source: source, config: JWKSCacheConfig(minRefresh: 0), logger: quietLogger)
        try cache.loadNow()
        cache.start()
        defer { cache.stop() }
        source.document.withLock { $0 = .failure(JWKSFetchError("connection refused")) }
        guard case .failure(.jwt(.unknownKeyID(_, let detail))) = keySync(cache, "brand-new") else { Issue.record("new kid must fail"); return }
        #expect(detail.contains("connection refused"))
        #expect((try? keySync(cache, JWTFixtures.kid).get()) != nil)
        let st = cache.status
        #expect(st.failing && st.keys == 1 && st.lastError == "connection refused")
    }

    /// A drain answers deliveries waiting for a slow fetch at once (503, retry later) instead of
    /// leaving them to the HTTP server's stop timeout; the fetch finishing later answers nobody twice.
    @Test func drainingRefusesWaitersWithoutWaitingForTheFetch() {
        let source = FakeJWKSSource(delay: 1.0)
        let cache = JWKSCache(source: source, config: JWKSCacheConfig(minRefresh: 10), logger: quietLogger)
        cache.start()
        defer { cache.stop() }
        let answers = Mutex<[Result<RSAPublicKey, AuthenticationError>]>([])
        let sem = DispatchSemaphore(value: 0)
        cache.key(for: "unknown-kid") { r in answers.withLock { $0.append(r) }; sem.signal() }
        #expect(eventually { source.fetches.load(ordering: .relaxed) == 1 })  // the fetch is under way
        let t0 = monotonicNow()
        cache.startDraining("shutting down; retry later")
        #expect(sem.wait(timeout: .now() + 0.5) == .success)
        #expect(monotonicNow() - t0 < 0.5)
        guard case .failure(let e)? = answers.withLock({ $0.first }) else { Issue.record("no refusal"); return }
        #expect(e.status == 503)
        #expect(e.description.contains("shutting down"))
        // While draining, a kid that would need a fetch is refused at once; a known one still answers.
        guard case .failure(let later) = keySync(cache, "another-unknown-kid") else { Issue.record("should be refused"); return }
        #expect(later.status == 503)
        usleep(1_200_000)  // the fetch ends meanwhile: no second answer
        #expect(answers.withLock { $0.count } == 1)
        guard case .success = keySync(cache, JWTFixtures.kid) else { Issue.record("known kid after the fetch"); return }
    }

    @Test func tooManyWaitersAreTurnedAway() {
        let source = FakeJWKSSource(delay: 0.3)
        var config = JWKSCacheConfig(minRefresh: 10)
        config.maxWaiters = 2
        let cache = JWKSCache(source: source, config: config, logger: quietLogger)
        cache.start()
        defer { cache.stop() }
        let busy = Atomic<Int>(0)
        let group = DispatchGroup()
        for i in 0..<5 {
            group.enter()
            cache.key(for: "k\(i)") { r in
                if case .failure(.busy) = r { busy.add(1, ordering: .relaxed) }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(busy.load(ordering: .relaxed) == 3)
    }

    @Test func fileSourceIsReReadWhenItChanges() throws {
        let dir = makeTempDir("jwks")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/jwks.json", "{\"keys\":[]}")
        let cache = JWKSCache(source: FileJWKSSource(path: dir + "/jwks.json"), config: JWKSCacheConfig(), logger: quietLogger)
        #expect(throws: JWKSFetchError.self) { try cache.loadNow() }
        writeFile(dir + "/jwks.json", JWTFixtures.jwks)
        cache.reload()
        cache.start()
        defer { cache.stop() }
        for _ in 0..<100 where cache.status.keys == 0 { usleep(20_000) }
        #expect(cache.status.keys == 1)
    }

    @Test func cacheControlMaxAge() {
        #expect(HTTPJWKSSource.maxAge("public, max-age=19204, must-revalidate, no-transform") == 19204)
        #expect(HTTPJWKSSource.maxAge("no-store") == 0)
        #expect(HTTPJWKSSource.maxAge("public") == nil)
        // Invalid freshness information counts as stale (RFC 9111 §4.2.1): the floor, not the 1 h default.
        #expect(HTTPJWKSSource.maxAge("max-age=-5") == 0)
    }
}

@Suite struct JWTSignerTests {
    @Test func whatSendSignsTheHostVerifies() throws {
        let key = try RSAPrivateKey.generate()
        let kid = JWTSigner.thumbprint(key)
        #expect(KeyID.isSafe(kid) && kid.utf8.count == 43)
        let set = try JWKSet.parse(bytes(JWTSigner.jwks(key, keyID: kid)))
        let body = bytes(#"{"type":"ping"}"#)
        let token = JWTSigner.token(key: key, keyID: kid, claims: JWTSigner.claims(now: 1000, audience: "a", body: body))
        let v = JWTVerifier(claims: JWTClaimsPolicy(audience: "a"), clock: FixedClock(1000))
        let d = try v.verify(WebhookMessage(id: "i", timestamp: nil, signature: token, body: body), keys: { set.keys[$0] })
        #expect(d.jwt?.keyID == kid)
        // The PEM private key reads back to the same key.
        let again = try RSAPrivateKey(pem: bytes(key.privatePEM))
        #expect(again.modulus == key.modulus && key.publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(throws: RSAPrivateKeyError.self) { try RSAPrivateKey(pem: bytes(key.publicPEM)) }
    }
}
