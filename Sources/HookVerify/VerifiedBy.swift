import HookSupport
import HookNet
import HookHTTP
/// How a delivery was authenticated (`delivery.verified_by` on a function's stdin).
public enum VerifiedBy: String, Sendable { case hmac, jwt }
