import HookSupport
import HookNet
import HookHTTP
/// Why a delivery was not accepted as authentic. Every case is a `401` except `busy` (`503`):
/// the message names the failed check, never a secret or key.
public enum AuthenticationError: Error, Equatable, CustomStringConvertible {
    /// A Standard Webhooks (HMAC) check failed.
    case hmac(VerificationError)
    /// A JWT check failed.
    case jwt(JWTError)
    /// Too many deliveries are already waiting for a key fetch; try again later.
    case busy(String)

    public var description: String {
        switch self {
        case .hmac(let e): return e.description
        case .jwt(let e): return e.description
        case .busy(let why): return why
        }
    }

    /// The HTTP status the endpoint answers with.
    public var status: Int {
        if case .busy = self { return 503 }
        return 401
    }
}
