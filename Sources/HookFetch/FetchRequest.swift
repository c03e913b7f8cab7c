import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// One result to download, resolved from an event's reference by `FetchPolicy.request(for:)`.
public struct FetchRequest: Sendable, Equatable {
    /// The reference as reported to the function (`result.uri`): `files/<id>` for file forms,
    /// `batches/<id>` for inline batch results, otherwise as it arrived.
    public var uri: String
    /// The first URL requested.
    public var url: FetchURL
    /// The secret this request may carry, and only to `url`'s origin.
    public var credential: Credential
    /// File name (no directory) the result is saved under; safe characters only.
    public var fileName: String

    public init(uri: String, url: FetchURL, credential: Credential, fileName: String) {
        self.uri = uri
        self.url = url
        self.credential = credential
        self.fileName = fileName
    }
}
