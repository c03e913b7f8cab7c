import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch
/// Whether the host can verify any delivery at all. A host without HMAC secrets and without
/// JWKS keys answers every delivery 401, so it must not look ready to a load balancer: the
/// operator finds out from `/readyz` instead of from Gemini's retry exhaustion a day later.
public enum VerificationReadiness {
    /// Why nothing can verify, or nil when something can. Pure.
    /// `expiredSecrets`: secrets past their `expires=`, which verify nothing any more.
    public static func problem(hmacSecrets: Int, expiredSecrets: Int = 0, jwks: JWKSStatus?) -> String? {
        guard hmacSecrets == 0 else { return nil }
        let none = expiredSecrets > 0
            ? "no usable HMAC secret (\(expiredSecrets) expired; add the current one to HOOKHOST_SECRETS_FILE)"
            : "no HMAC secrets (HOOKHOST_SECRETS, HOOKHOST_SECRETS_FILE)"
        guard let j = jwks else {
            return "no verification method configured: \(none) and no JWKS"
        }
        guard j.keys == 0 else { return nil }
        let why = j.age == nil && !j.failing ? "not fetched yet" : (j.lastError ?? "no usable key")
        return "no verification method configured: \(none) and no JWKS keys from \(j.location) (\(why))"
    }
}
