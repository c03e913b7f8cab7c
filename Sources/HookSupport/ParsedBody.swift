import Synchronization

/// A request body parsed at most once, by whoever needs it first: a JWT check binding the body
/// to its claims, then admission (which always does). Before, each of them parsed it again.
public final class ParsedBody: Sendable {
    public let bytes: [UInt8]
    private let parsed = Mutex<Result<JSON, JSONParseError>?>(nil)

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The body as JSON, or why it is not JSON; parsed on the first call.
    public var json: Result<JSON, JSONParseError> {
        parsed.withLock { cached in
            if let cached { return cached }
            let r = Result { () throws(JSONParseError) in try JSONParser.parse(bytes) }
            cached = r
            return r
        }
    }

    /// The body as JSON, or nil when it is not JSON.
    public var value: JSON? { try? json.get() }
}
