import HookSupport
import HookNet
import HookHTTP
/// Why a JWT delivery was refused (answered `401`). Names the failed check; never echoes the token.
public enum JWTError: Error, Equatable, CustomStringConvertible {
    case missingDeliveryID
    case timestamp(VerificationError)
    case tooLarge(limit: Int)
    case segmentCount(Int)
    /// A segment (`header`, `payload`, `signature`) is not strict unpadded base64url.
    case malformedBase64(segment: String)
    /// A segment is not one JSON object.
    case notJSONObject(segment: String)
    case duplicateMember(segment: String, name: String)
    case missingAlgorithm
    case algorithmNotAllowed(String)
    case criticalExtension
    case missingKeyID
    case unsafeKeyID
    /// No key with this `kid`; `detail` says whether the JWKS was refetched or could not be.
    case unknownKeyID(String, detail: String)
    case badSignature
    /// A time claim (`exp`, `nbf`, `iat`) is not a finite number.
    case invalidTimeClaim(String)
    case expired
    case notYetValid
    /// Neither `exp` nor `iat`: the token would verify for ever.
    case missingExpiry
    /// `exp` lies further from `iat` (or, without one, from now) than the allowed lifetime.
    case lifetimeTooLong(seconds: Double, limit: Double, fromIssue: Bool)
    /// `iat` is later than now (beyond the leeway).
    case issuedInFuture
    /// Without `exp`, `iat` is older than the tolerance.
    case issuedTooLongAgo(tolerance: Double)
    case missingAudience
    case audienceMismatch
    case missingIssuer
    case issuerMismatch
    /// The header's `typ` names another kind of token (or is not a string).
    case typeNotAllowed(String)
    /// The token already authorized a delivery with another `webhook-id`.
    case tokenReused
    /// A claim that binds the body (a hash or the event) does not match it.
    case bodyMismatch(claim: String)

    public var description: String {
        switch self {
        case .missingDeliveryID: return "missing webhook-id header"
        case .timestamp(let e): return e.description
        case .tooLarge(let limit): return "JWT in webhook-signature is larger than \(limit) bytes"
        case .segmentCount(let n): return "JWT must have 3 dot-separated segments, got \(n)"
        case .malformedBase64(let s): return "JWT \(s) is not unpadded base64url"
        case .notJSONObject(let s): return "JWT \(s) is not a JSON object"
        case .duplicateMember(let s, let n): return "JWT \(s) has \"\(n)\" more than once"
        case .missingAlgorithm: return "JWT header has no alg"
        case .algorithmNotAllowed(let a): return "JWT alg \"\(a.prefix(20))\" is not allowed (only RS256)"
        case .criticalExtension: return "JWT header has crit extensions, which are not supported"
        case .missingKeyID: return "JWT header has no kid"
        case .unsafeKeyID: return "JWT kid has characters other than A-Z a-z 0-9 . _ - or is longer than 128"
        case .unknownKeyID(let kid, let detail): return "JWT kid \"\(kid)\" is not a known key (\(detail))"
        case .badSignature: return "JWT signature does not verify"
        case .invalidTimeClaim(let c): return "JWT claim \(c) is not a number"
        case .expired: return "JWT has expired (exp)"
        case .notYetValid: return "JWT is not valid yet (nbf)"
        case .missingExpiry: return "JWT has neither exp nor iat, so it would never expire (HOOKHOST_JWT_REQUIRE_EXPIRY)"
        case .lifetimeTooLong(let s, let limit, let fromIssue):
            return "JWT lifetime of \(SettingRange.format(s.rounded())) s (\(fromIssue ? "exp - iat" : "exp - now")) is longer than the "
                + "\(SettingRange.format(limit)) s allowed (HOOKHOST_JWT_MAX_LIFETIME)"
        case .issuedInFuture: return "JWT iat is in the future"
        case .issuedTooLongAgo(let t): return "JWT has no exp and its iat is more than \(SettingRange.format(t)) s old (HOOKHOST_TOLERANCE)"
        case .missingAudience: return "JWT has no aud but an audience is required"
        case .audienceMismatch: return "JWT aud does not match the configured audience"
        case .missingIssuer: return "JWT has no iss but an issuer is required (HOOKHOST_JWT_ISSUER)"
        case .issuerMismatch: return "JWT iss does not match the configured issuer (HOOKHOST_JWT_ISSUER)"
        case .typeNotAllowed(let t): return "JWT typ \"\(t.prefix(40))\" is not an accepted token type (HOOKHOST_JWT_TYPES)"
        case .tokenReused: return "JWT was already used for a delivery with another webhook-id (a token is good for one delivery)"
        case .bodyMismatch(let c): return "JWT claim \(c) does not match the body"
        }
    }
}
