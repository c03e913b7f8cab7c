import HookSupport
import HookNet
import HookHTTP
/// RS256 JWT deliveries: token checks first, then the key (possibly after a fetch), then the
/// signature and claims, then the replay memory (a token is good for one `webhook-id`).
public struct JWTAuthenticator: Authenticator {
    public let verifier: JWTVerifier
    public let keys: JWKSCache
    /// Nil: a token may authorize any number of deliveries (`HOOKHOST_JWT_ALLOW_REUSE`).
    public let replay: (any TokenReplayGuard)?
    private let shapes: ClaimShapes

    public init(verifier: JWTVerifier, keys: JWKSCache, replay: (any TokenReplayGuard)?, logger: Logger) {
        self.verifier = verifier
        self.keys = keys
        self.replay = replay
        self.shapes = ClaimShapes(logger: logger)
    }

    public func authenticate(_ m: WebhookMessage, completion: @escaping @Sendable (Result<VerifiedDelivery, AuthenticationError>) -> Void) {
        let id: String, token: CompactJWS
        do { (id, token) = try verifier.precheck(m) } catch { return completion(.failure(.jwt(error))) }
        let verifier = self.verifier, shapes = self.shapes, replay = self.replay
        keys.key(for: token.keyID) { found in
            switch found {
            case .failure(let e): completion(.failure(e))
            case .success(let key):
                do throws(JWTError) {
                    let (d, use) = try verifier.verifyForUse(token, id: id, key: key, message: m)
                    // A retry of the same delivery passes (and is answered as a duplicate).
                    if let replay, replay.bind(use) == .otherDelivery { throw .tokenReused }
                    shapes.observe(token.claims, keyID: token.keyID)
                    completion(.success(d))
                } catch {
                    completion(.failure(.jwt(error)))
                }
            }
        }
    }
}
