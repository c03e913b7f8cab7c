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

/// The endpoint stores what the authenticator verified, whenever and on whichever thread it answers.
@Suite struct DeliveryEndpointTests {
    func post(_ endpoint: DeliveryEndpoint, body: String, headers: [(String, String)]) -> HTTPResponse {
        let req = HTTPRequest(method: "POST", target: "/webhooks", headers: headers.map { (name: $0.0, value: $0.1) }, body: bytes(body))
        let sem = DispatchSemaphore(value: 0)
        let box = Mutex<HTTPResponse?>(nil)
        endpoint.respond(to: req) { r in box.withLock { $0 = r }; sem.signal() }
        sem.wait()
        return box.withLock { $0! }
    }

    func endpoint(_ auth: any Authenticator, _ store: any DeliveryStore) -> DeliveryEndpoint {
        DeliveryEndpoint(path: "/webhooks", authenticator: auth, spool: store, metrics: Metrics(), logger: quietLogger, functionsReady: { true })
    }

    @Test func jwtDeliveryVerifiedLaterIsStoredWithItsIdentity() throws {
        let identity = JWTIdentity(keyID: "k1", claims: bytes(#"{"a":1}"#))
        let verified = VerifiedDelivery(id: "jwt-1", timestamp: nil, verifiedBy: .jwt, jwt: identity)
        let store = MemoryDeliveryStore()
        let r = post(endpoint(DeferredAuthenticator(answer: .success(verified)), store), body: #"{"type":"ping"}"#,
                     headers: [("webhook-id", "jwt-1"), ("webhook-signature", "a.b.c")])
        #expect(r.status == 202)
        let shown = try #require(store.show("jwt-1"))
        #expect(shown.info.verifiedBy == .jwt && shown.jwt == identity)
    }

    @Test func rejectionIsNamedAndBusyIs503() {
        let store = MemoryDeliveryStore()
        let r = post(endpoint(DeferredAuthenticator(answer: .failure(.jwt(.badSignature))), store), body: "{}", headers: [])
        #expect(r.status == 401 && String(decoding: r.body, as: UTF8.self).contains("JWT signature does not verify"))
        let b = post(endpoint(DeferredAuthenticator(answer: .failure(.busy("too many waiting"))), store), body: "{}", headers: [])
        #expect(b.status == 503 && b.headers.contains { $0.0 == "Retry-After" })
        #expect(store.list().isEmpty)
    }
}
