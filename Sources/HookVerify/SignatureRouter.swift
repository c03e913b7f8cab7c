import HookSupport
import HookNet
import HookHTTP
/// Chooses the authenticator by the signature's shape (PROTOCOL §1): one compact JWT (three
/// base64url segments separated by dots) goes to `jwt`; anything else (`v1,` entries) to `hmac`.
public struct SignatureRouter: Authenticator {
    public let hmac: HMACAuthenticator
    /// Nil: JWT deliveries are refused as not configured.
    public let jwt: (any Authenticator)?

    public init(hmac: HMACAuthenticator, jwt: (any Authenticator)?) {
        self.hmac = hmac
        self.jwt = jwt
    }

    public func authenticate(_ m: WebhookMessage, completion: @escaping @Sendable (Result<VerifiedDelivery, AuthenticationError>) -> Void) {
        if let sig = m.signature, WebhookVerifier.looksLikeJWT(sig) {
            guard let jwt else { return completion(.failure(.hmac(.dynamicWebhooksNotConfigured))) }
            return jwt.authenticate(m, completion: completion)
        }
        hmac.authenticate(m, completion: completion)
    }
}
