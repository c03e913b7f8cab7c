import HookSupport
import HookNet
import HookHTTP
/// How a delivery was authenticated (`delivery.verified_by` on a function's stdin): `parent` is
/// an event emitted by the run of another delivery (trusted as that run was), `host` one the host
/// made itself (`hookhost.dead`).
public enum VerifiedBy: String, Sendable { case hmac, jwt, parent, host }
