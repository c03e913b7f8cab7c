import HookSupport
import HookNet
import HookHTTP
/// Standard Webhooks v1 (HMAC-SHA256) deliveries, against the secrets active at the time of the call.
public struct HMACAuthenticator: Authenticator {
    /// The current verifier (secrets can be rotated while the host runs).
    private let verifier: @Sendable () -> WebhookVerifier

    public init(verifier: @escaping @Sendable () -> WebhookVerifier) { self.verifier = verifier }

    public func authenticate(_ m: WebhookMessage, completion: @escaping @Sendable (Result<VerifiedDelivery, AuthenticationError>) -> Void) {
        completion(verify(m))
    }

    /// Synchronous: HMAC needs no key fetch.
    public func verify(_ m: WebhookMessage) -> Result<VerifiedDelivery, AuthenticationError> {
        do {
            try verifier().verify(id: m.id, timestamp: m.timestamp, signature: m.signature, body: m.body)
        } catch {
            return .failure(.hmac(error))
        }
        // verify() refused a missing or empty id and timestamp.
        guard let id = m.id, let ts = m.timestamp else { return .failure(.hmac(.missingHeader(WebhookHeader.id))) }
        return .success(VerifiedDelivery(id: id, timestamp: ts, verifiedBy: .hmac))
    }
}
