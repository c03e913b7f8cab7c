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

/// A JWKS source that always answers one document.
struct StaticJWKSSource: JWKSSource {
    let document: String
    var location: String { "static" }
    var pollInterval: Double? { nil }
    func changed() -> Bool { false }
    func fetch() throws(JWKSFetchError) -> JWKSDocument { JWKSDocument(bytes: bytes(document), maxAge: nil) }
}

/// The whole JWT path a delivery takes: checks, key, signature, claims, then the replay memory
/// (tokens from an independent signer, JWTPolicyFixtures).
@Suite struct JWTAuthenticatorTests {
    static let t0 = JWTPolicyFixtures.t0

    func authenticator(replay: (any TokenReplayGuard)?) throws -> JWTAuthenticator {
        let keys = JWKSCache(source: StaticJWKSSource(document: JWTPolicyFixtures.jwks), config: JWKSCacheConfig(minRefresh: 10), logger: quietLogger)
        try keys.loadNow()
        let v = JWTVerifier(claims: JWTClaimsPolicy(audience: JWTPolicyFixtures.audience), clock: FixedClock(Self.t0))
        return JWTAuthenticator(verifier: v, keys: keys, replay: replay, logger: quietLogger)
    }

    func deliver(_ a: JWTAuthenticator, _ token: String, id: String) -> Result<VerifiedDelivery, AuthenticationError> {
        authenticateSync(a, WebhookMessage(id: id, timestamp: nil, signature: JWTPolicyFixtures.token(token), body: bytes(JWTPolicyFixtures.body)))
    }

    @Test func aTokenAuthorizesOneWebhookIDOnly() throws {
        let a = try authenticator(replay: ReplayMemory(clock: FixedClock(Self.t0)))
        #expect(try deliver(a, "standard", id: "wh_1").get().id == "wh_1")
        #expect(throws: AuthenticationError.jwt(.tokenReused)) { try deliver(a, "standard", id: "wh_2").get() }
        // The same delivery again (a retry) passes: the endpoint answers it as a duplicate.
        #expect(try deliver(a, "standard", id: "wh_1").get().id == "wh_1")
        // Another token (here: the same claims plus a jti) is another licence.
        #expect(try deliver(a, "standardAgain", id: "wh_2").get().id == "wh_2")
        #expect(AuthenticationError.jwt(.tokenReused).status == 401)
    }

    @Test func aRefusedTokenBindsNothing() throws {
        let memory = ReplayMemory(clock: FixedClock(Self.t0))
        let a = try authenticator(replay: memory)
        #expect(throws: AuthenticationError.jwt(.bodyMismatch(claim: "data"))) { try deliver(a, "dataOther", id: "wh_1").get() }
        #expect(memory.count == 0)
    }

    @Test func withReuseAllowedATokenServesAnyWebhookID() throws {
        let a = try authenticator(replay: nil)  // HOOKHOST_JWT_ALLOW_REUSE=true
        for id in ["wh_1", "wh_2", "wh_3"] { #expect(try deliver(a, "standard", id: id).get().id == id) }
    }

    @Test func aBindingIsRecordedOnceAndOnlyWhenNew() throws {
        let recorded = Mutex<[TokenUse]>([])
        let memory = ReplayMemory(clock: FixedClock(Self.t0), persist: { u in recorded.withLock { $0.append(u) } })
        let a = try authenticator(replay: memory)
        _ = deliver(a, "standard", id: "wh_1")
        _ = deliver(a, "standard", id: "wh_1")
        _ = deliver(a, "standard", id: "wh_2")
        let uses = recorded.withLock { $0 }
        #expect(uses.count == 1 && uses.first?.id == "wh_1" && uses.first?.until == Self.t0 + 360)
    }
}
