import HookSupport
import HookNet
import HookHTTP
/// How a delivery was authenticated (`delivery.verified_by` on a function's stdin): `parent` is
/// an event emitted by the run of another delivery (trusted as that run was), `host` one the host
/// made itself (`hookhost.dead`), `reconcile` one `hookhost reconcile` synthesized from the
/// job's state in the Gemini API, whose own delivery never arrived.
public enum VerifiedBy: String, Sendable { case hmac, jwt, parent, host, reconcile }
