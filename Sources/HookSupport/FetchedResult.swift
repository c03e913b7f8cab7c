/// A result downloaded before the function runs (CONTRACT §5): the stdin `result` object.
public struct FetchedResult: Sendable, Equatable {
    public var uri: String
    public var path: String
    public var bytes: Int
    /// Lower-case hex SHA-256 of the file's bytes.
    public var sha256: String
    /// The response's `Content-Type` as sent, or nil.
    public var contentType: String?
    /// How long the download took, in milliseconds (for `deliveries show`; not on stdin).
    public var fetchMs: Int?

    public init(uri: String, path: String, bytes: Int, sha256: String, contentType: String?, fetchMs: Int? = nil) {
        self.uri = uri
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
        self.contentType = contentType
        self.fetchMs = fetchMs
    }
}
