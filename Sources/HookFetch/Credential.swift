import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// Which secret a request carries. Decided per request by `FetchPolicy`, turned into a header
/// value only at the moment of sending by `FetchCredentials`.
public enum Credential: Sendable, Equatable {
    case none
    /// `x-goog-api-key: GEMINI_API_KEY`, only ever to the API origin.
    case apiKey
    /// `Authorization: Bearer <HOOKHOST_GCS_TOKEN_FILE>`, only ever to the GCS origin.
    case gcsToken
}
