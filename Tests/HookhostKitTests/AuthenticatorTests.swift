import Dispatch
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

/// An authenticator that answers later from another thread, like a JWT whose key is being fetched.
struct DeferredAuthenticator: Authenticator {
    let answer: Result<VerifiedDelivery, AuthenticationError>
    func authenticate(_ m: WebhookMessage, completion: @escaping @Sendable (Result<VerifiedDelivery, AuthenticationError>) -> Void) {
        let answer = self.answer
        startThread(name: "deferred-auth") { completion(answer) }
    }
}

/// Waits for an asynchronous authentication.
func authenticateSync(_ a: any Authenticator, _ m: WebhookMessage) -> Result<VerifiedDelivery, AuthenticationError> {
    let sem = DispatchSemaphore(value: 0)
    let box = Mutex<Result<VerifiedDelivery, AuthenticationError>?>(nil)
    a.authenticate(m) { r in box.withLock { $0 = r }; sem.signal() }
    sem.wait()
    return box.withLock { $0! }
}

@Suite struct AuthenticatorTests {
    static let secret = "whsec_azN2OXgwcTJtN3A0dDh3MXo2YzViMG4ycjl5NGg3ajM="
    static let body = #"{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123"}}"#
    static let sig = "v1,C67khFY9Ak46w29CjXoVjkzXEv5eig83CRpvhbEcowA="
    static let jwtShaped = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"

    func hmac() throws -> HMACAuthenticator {
        let v = WebhookVerifier(secrets: [try WebhookSecret(Self.secret)], tolerance: 300, clock: FixedClock(1777896000))
        return HMACAuthenticator(verifier: { v })
    }

    @Test func hmacReturnsWhatItVerified() throws {
        let r = try hmac().verify(WebhookMessage(id: "wh_msg_0001", timestamp: "1777896000", signature: Self.sig, body: bytes(Self.body)))
        #expect(try r.get() == VerifiedDelivery(id: "wh_msg_0001", timestamp: "1777896000", verifiedBy: .hmac))
    }

    @Test func hmacRejectionIsNamed() throws {
        let r = try hmac().verify(WebhookMessage(id: nil, timestamp: "1777896000", signature: Self.sig, body: bytes(Self.body)))
        #expect(throws: AuthenticationError.hmac(.missingHeader("webhook-id"))) { try r.get() }
        #expect(AuthenticationError.hmac(.noMatchingSignature).status == 401)
        #expect(AuthenticationError.busy("x").status == 503)
    }

    @Test func routerSendsJWTShapedSignaturesToTheJWTAuthenticator() throws {
        let jwtDelivery = VerifiedDelivery(id: "j", timestamp: nil, verifiedBy: .jwt, jwt: JWTIdentity(keyID: "k", claims: bytes("{}")))
        let router = SignatureRouter(hmac: try hmac(), jwt: DeferredAuthenticator(answer: .success(jwtDelivery)))
        let m = WebhookMessage(id: "j", timestamp: nil, signature: Self.jwtShaped, body: bytes(Self.body))
        #expect(try authenticateSync(router, m).get() == jwtDelivery)
        // v1 entries still go to HMAC.
        let h = WebhookMessage(id: "wh_msg_0001", timestamp: "1777896000", signature: Self.sig, body: bytes(Self.body))
        #expect(try authenticateSync(router, h).get().verifiedBy == .hmac)
    }

    @Test func routerWithoutJWTSupportRefusesJWTs() throws {
        let router = SignatureRouter(hmac: try hmac(), jwt: nil)
        let m = WebhookMessage(id: "j", timestamp: "1777896000", signature: Self.jwtShaped, body: bytes(Self.body))
        #expect(throws: AuthenticationError.hmac(.dynamicWebhooksNotConfigured)) { try authenticateSync(router, m).get() }
    }
}
