import HookSupport
import HookNet
import HookHTTP
/// The parts of a delivery that verification looks at: the three webhook headers (each as sent,
/// or nil when absent) and the raw body.
public struct WebhookMessage: Sendable {
    public var id: String?
    public var timestamp: String?
    public var signature: String?
    /// The raw body, parsed at most once by whoever needs it as JSON first.
    public var parsedBody: ParsedBody
    public var body: [UInt8] { parsedBody.bytes }

    public init(id: String?, timestamp: String?, signature: String?, body: [UInt8]) {
        self.init(id: id, timestamp: timestamp, signature: signature, parsedBody: ParsedBody(body))
    }

    public init(id: String?, timestamp: String?, signature: String?, parsedBody: ParsedBody) {
        self.id = id
        self.timestamp = timestamp
        self.signature = signature
        self.parsedBody = parsedBody
    }
}

/// The key and claims a JWT delivery was verified with (stdin `delivery.key_id`, `delivery.claims`).
public struct JWTIdentity: Sendable, Equatable {
    /// The token's `kid`.
    public let keyID: String
    /// The verified claims object, byte for byte as the token carried it.
    public let claims: [UInt8]

    public init(keyID: String, claims: [UInt8]) {
        self.keyID = keyID
        self.claims = claims
    }
}

/// A delivery whose signature checked out: what the rest of the host may rely on.
public struct VerifiedDelivery: Sendable, Equatable {
    /// The `webhook-id` (idempotency key), present and non-empty.
    public let id: String
    /// The `webhook-timestamp` as sent; nil for a JWT delivery that sent none.
    public let timestamp: String?
    public let verifiedBy: VerifiedBy
    /// Set exactly when `verifiedBy` is `.jwt`.
    public let jwt: JWTIdentity?

    public init(id: String, timestamp: String?, verifiedBy: VerifiedBy, jwt: JWTIdentity? = nil) {
        self.id = id
        self.timestamp = timestamp
        self.verifiedBy = verifiedBy
        self.jwt = jwt
    }
}

/// Turns a message into a verified delivery or a named rejection.
public protocol Authenticator: Sendable {
    /// Calls `completion` exactly once: on the caller's thread when no key must be fetched, else
    /// later from the key fetcher's thread. Never blocks the caller on the network.
    func authenticate(_ message: WebhookMessage, completion: @escaping @Sendable (Result<VerifiedDelivery, AuthenticationError>) -> Void)
}
