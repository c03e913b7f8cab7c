import HookSupport
import HookNet
import HookHTTP
/// RS256 JWT deliveries: token checks first, then the key (possibly after a fetch), then the
/// signature and claims.
public struct JWTAuthenticator: Authenticator {
    public let verifier: JWTVerifier
    public let keys: JWKSCache
    private let shapes: ClaimShapes

    public init(verifier: JWTVerifier, keys: JWKSCache, logger: Logger) {
        self.verifier = verifier
        self.keys = keys
        self.shapes = ClaimShapes(logger: logger)
    }

    public func authenticate(_ m: WebhookMessage, completion: @escaping @Sendable (Result<VerifiedDelivery, AuthenticationError>) -> Void) {
        let id: String, token: CompactJWS
        do { (id, token) = try verifier.precheck(m) } catch { return completion(.failure(.jwt(error))) }
        let verifier = self.verifier, shapes = self.shapes
        keys.key(for: token.keyID) { found in
            switch found {
            case .failure(let e): completion(.failure(e))
            case .success(let key):
                do throws(JWTError) {
                    let d = try verifier.verify(token, id: id, key: key, message: m)
                    shapes.observe(token.claims, keyID: token.keyID)
                    completion(.success(d))
                } catch {
                    completion(.failure(.jwt(error)))
                }
            }
        }
    }
}
