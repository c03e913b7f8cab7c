import Foundation

/// The JSON document hookhost writes to a function's stdin (CONTRACT §4, `"contract": 1`).
public struct HookInput: Codable, Sendable, Equatable {
    /// Version of the stdin contract; currently `1`.
    public var contract: Int
    /// Which delivery this is and how it was verified.
    public var delivery: Delivery
    /// The event type the function was chosen for (`batch.completed` arrives as `batch.succeeded`).
    public var type: String
    /// The webhook body as Gemini sent it.
    public var event: Event
    /// The `user_metadata` echoed back from `webhook_config`, or `nil`.
    public var userMetadata: [String: JSONValue]?
    /// The result hookhost downloaded before running the function, or `nil` when there is none.
    public var result: Result?

    /// Creates an input, e.g. to test a handler without the host.
    public init(contract: Int = 1, delivery: Delivery, type: String, event: Event,
                userMetadata: [String: JSONValue]? = nil, result: Result? = nil) {
        self.contract = contract
        self.delivery = delivery
        self.type = type
        self.event = event
        self.userMetadata = userMetadata
        self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case contract, delivery, type, event, result
        case userMetadata = "user_metadata"
    }

    /// `user_metadata` from the top level, else from `event.data` (Gemini's placement is undocumented).
    public var metadata: [String: JSONValue]? { userMetadata ?? event.data.userMetadata }
}

extension HookInput {
    /// One delivery attempt: `delivery.id` is stable across retries, so use it to make side effects idempotent.
    public struct Delivery: Codable, Sendable, Equatable {
        /// The `webhook-id`, the same on every retry.
        public var id: String
        /// 1 on the first run, +1 on every retry.
        public var attempt: Int
        /// When hookhost accepted the delivery (RFC 3339, UTC).
        public var receivedAt: String
        /// `hmac` (static secret), `jwt` (dynamic webhook) or `parent` (an event another function
        /// emitted; see `parent`, `root`, `depth`).
        public var verifiedBy: String
        /// JWT deliveries only: the `kid` of the key that signed the token; `nil` for `hmac`.
        public var keyID: String?
        /// JWT deliveries only: the verified claims object as sent; `nil` for `hmac`.
        public var claims: [String: JSONValue]?
        /// Emitted events only: the id of the delivery whose function emitted this one; `nil` for webhooks.
        public var parent: String?
        /// Emitted events only: the id of the webhook delivery the chain started with.
        public var root: String?
        /// Emitted events only: 1 for an event a webhook's function emitted, +1 per step after; `nil` for webhooks.
        public var depth: Int?

        /// Creates a delivery.
        public init(id: String, attempt: Int = 1, receivedAt: String, verifiedBy: String = "hmac",
                    keyID: String? = nil, claims: [String: JSONValue]? = nil,
                    parent: String? = nil, root: String? = nil, depth: Int? = nil) {
            self.id = id
            self.attempt = attempt
            self.receivedAt = receivedAt
            self.verifiedBy = verifiedBy
            self.keyID = keyID
            self.claims = claims
            self.parent = parent
            self.root = root
            self.depth = depth
        }

        /// Whether another function emitted this event (it did not come from Gemini).
        public var isEmitted: Bool { parent != nil }

        enum CodingKeys: String, CodingKey {
            case id, attempt, claims, parent, root, depth
            case receivedAt = "received_at"
            case verifiedBy = "verified_by"
            case keyID = "key_id"
        }
    }

    /// A file hookhost downloaded for this delivery (batch output JSONL, batch resource JSON, or a video).
    public struct Result: Codable, Sendable, Equatable {
        /// Where it came from: `files/…`, `batches/…` (inline results), a URL or `gs://…`.
        public var uri: String
        /// Absolute path of the local copy; deleted once the delivery is done.
        public var path: String
        /// Size in bytes.
        public var bytes: Int
        /// Lower-case hex SHA-256 of the file.
        public var sha256: String
        /// The download's `Content-Type` as sent, or `nil`.
        public var contentType: String?

        /// Creates a result description.
        public init(uri: String, path: String, bytes: Int, sha256: String, contentType: String? = nil) {
            self.uri = uri
            self.path = path
            self.bytes = bytes
            self.sha256 = sha256
            self.contentType = contentType
        }

        enum CodingKeys: String, CodingKey {
            case uri, path, bytes, sha256
            case contentType = "content_type"
        }
    }

    /// The webhook body. Decoded leniently: only `type` is required; odd-typed optional fields read as `nil`.
    public struct Event: Codable, Sendable, Equatable {
        /// The event type as sent (may be `batch.completed`, or a type this library doesn't know).
        public var type: String
        /// Envelope version, e.g. `v1`.
        public var version: String?
        /// When the event happened, as sent (RFC 3339, possibly with fractional seconds).
        public var timestamp: String?
        /// The event's `data` object.
        public var data: EventData

        /// Creates an event.
        public init(type: String, version: String? = "v1", timestamp: String? = nil, data: EventData = EventData()) {
            self.type = type
            self.version = version
            self.timestamp = timestamp
            self.data = data
        }

        enum CodingKeys: String, CodingKey {
            case type, version, timestamp, data
        }

        /// Decodes an event, tolerating missing or mistyped optional fields.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decode(String.self, forKey: .type)
            version = (try? container.decodeIfPresent(JSONValue.self, forKey: .version))?.stringValue
            timestamp = (try? container.decodeIfPresent(JSONValue.self, forKey: .timestamp))?.stringValue
            data = EventData(raw: try container.decodeIfPresent(JSONValue.self, forKey: .data) ?? .object([:]))
        }
    }

    /// The event's `data`: the documented fields, plus `raw` for everything else.
    public struct EventData: Codable, Sendable, Equatable {
        /// All of `data` as sent; use it for fields not modelled here.
        public let raw: JSONValue

        /// Wraps a `data` value; the typed fields are read from it.
        public init(raw: JSONValue = .object([:])) { self.raw = raw }

        /// Decodes `data`, whatever its shape.
        public init(from decoder: any Decoder) throws { raw = try JSONValue(from: decoder) }

        /// Encodes `data` exactly as `raw`.
        public func encode(to encoder: any Encoder) throws { try raw.encode(to: encoder) }

        /// Resource name, with or without its collection prefix (`batches/abc` or `abc`).
        public var id: String? { raw["id"]?.scalarText }
        /// `output_file_uri` (batch output file, or a video).
        public var outputFileUri: String? { raw["output_file_uri"]?.stringValue }
        /// `video_uri` (Veo: a full download URL).
        public var videoUri: String? { raw["video_uri"]?.stringValue }
        /// `file_name`.
        public var fileName: String? { raw["file_name"]?.stringValue }
        /// `error_code`, sent as a number or a string; numbers are rendered without a fraction.
        public var errorCode: String? { raw["error_code"]?.scalarText }
        /// `error_message`.
        public var errorMessage: String? { raw["error_message"]?.stringValue }
        /// `data.user_metadata`, when Gemini puts it there.
        public var userMetadata: [String: JSONValue]? { raw["user_metadata"]?.objectValue }

        /// Any member of `data` by its JSON key.
        public subscript(key: String) -> JSONValue? { raw[key] }
    }
}

extension HookInput {
    /// Reads all of stdin and decodes it; throws `HookInputError` saying what is wrong.
    public static func read() throws(HookInputError) -> HookInput {
        let data: Data
        do {
            data = try FileHandle.standardInput.readToEnd() ?? Data()
        } catch {
            throw .unreadable(String(describing: error))
        }
        return try decode(from: data)
    }

    /// Decodes a stdin document already in memory.
    public static func decode(from data: Data) throws(HookInputError) -> HookInput {
        guard data.contains(where: { !Self.isJSONWhitespace($0) }) else { throw .emptyInput }
        do {
            return try JSONDecoder().decode(HookInput.self, from: data)
        } catch let error as DecodingError {
            throw HookInputError(error)
        } catch {
            throw .invalidJSON(String(describing: error))
        }
    }

    /// Reads stdin like `read()`; on failure writes the error to stderr and exits 65 (bad input) or 75 (read error).
    public static func readOrExit() -> HookInput {
        do {
            return try read()
        } catch {
            HookExit.fail(error.description, code: error.isPermanent ? HookExit.permanentFailure : HookExit.retryLater)
        }
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// Why stdin could not be turned into a `HookInput`; `description` is one line fit for stderr.
public enum HookInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// stdin was empty or only whitespace.
    case emptyInput
    /// Reading stdin failed.
    case unreadable(String)
    /// stdin is not valid JSON.
    case invalidJSON(String)
    /// A required key is absent (`path` is dotted, e.g. `delivery.id`).
    case missingKey(path: String)
    /// A value has the wrong JSON type or is `null` where one is required.
    case wrongType(path: String, expected: String)

    /// Whether the same input can never decode (exit 65) rather than a transient read failure (exit 75).
    public var isPermanent: Bool {
        if case .unreadable = self { return false }
        return true
    }

    /// A one-line explanation naming the offending key.
    public var description: String {
        switch self {
        case .emptyInput:
            return "hookhost input: stdin is empty (expected one JSON document, see CONTRACT §4)"
        case .unreadable(let reason):
            return "hookhost input: cannot read stdin: \(reason)"
        case .invalidJSON(let reason):
            return "hookhost input: stdin is not valid JSON: \(reason)"
        case .missingKey(let path):
            return "hookhost input: missing key '\(path)'"
        case .wrongType(let path, let expected):
            return "hookhost input: '\(path)' should be \(expected)"
        }
    }

    init(_ error: DecodingError) {
        func dotted(_ path: [any CodingKey]) -> String {
            let text = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "(top level)" : text.replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            self = .missingKey(path: dotted(context.codingPath + [key]))
        case .valueNotFound(let type, let context):
            self = .wrongType(path: dotted(context.codingPath), expected: "\(Self.jsonName(of: type)), not null")
        case .typeMismatch(let type, let context):
            self = .wrongType(path: dotted(context.codingPath), expected: Self.jsonName(of: type))
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            self = .invalidJSON(context.debugDescription + underlying)
        case .dataCorrupted(let context):
            self = .wrongType(path: dotted(context.codingPath), expected: "valid: \(context.debugDescription)")
        @unknown default:
            self = .invalidJSON(String(describing: error))
        }
    }

    /// The JSON kind a Swift type decodes from, with its article ("an object").
    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type: return "a number"
        case is Bool.Type: return "a boolean"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Dictionary") { return "an object" }
            if name.hasPrefix("Array") { return "an array" }
            return "a JSON value of type \(name)"
        }
    }
}
