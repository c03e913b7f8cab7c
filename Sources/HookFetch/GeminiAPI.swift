import HookSupport

/// A small client for Gemini's REST API (WebhookService, batches, operations): JSON in, JSON out,
/// over `HTTPClient`. Shared by `hookhost webhooks` and `hookhost reconcile`.
///
/// The key travels only in the `x-goog-api-key` header, never in a URL, so URLs may be logged
/// (without their query, as everywhere); `description` never shows it.
public struct GeminiAPI: Sendable, CustomStringConvertible {
    /// `HOOKHOST_API_BASE`: scheme, host, port and an optional path prefix.
    public let base: FetchURL
    /// `HOOKHOST_API_VERSION`: the first path segment (`v1`).
    public let version: String
    private let apiKey: String
    /// Seconds for one whole request.
    public var timeout: Double = 30
    /// Largest answer read; a larger one is an error, not a longer wait.
    public var maxResponseBytes = 16 << 20
    /// Checked before each request and during it: true stops the call with `.cancelled` (a host
    /// shutting down does not wait for a slow listing to end).
    public var isCancelled: (@Sendable () -> Bool)?

    /// Refuses a missing or empty key (`GEMINI_API_KEY`) and a version `isValidVersion` rejects.
    public init(base: FetchURL, version: String, apiKey: String?) throws(GeminiAPIError) {
        guard let apiKey, !apiKey.isEmpty else { throw .missingKey }
        guard GeminiAPI.isValidVersion(version) else { throw .badVersion(version) }
        self.base = base
        self.version = version
        self.apiKey = apiKey
    }

    public var description: String {
        let b = base.redacted
        return "\(b.hasSuffix("/") ? String(b.dropLast()) : b)/\(version) (key from GEMINI_API_KEY)"
    }

    /// `v1`, `v1beta`, `v1alpha`, `v2beta3`: `v<digits>` then optionally `alpha`/`beta` and digits.
    /// Anything else would put an arbitrary path segment (`..`, `%2F`) before every request.
    public static func isValidVersion(_ text: String) -> Bool {
        var rest = Substring(text)
        guard rest.hasPrefix("v") else { return false }
        rest = rest.dropFirst()
        let major = rest.prefix { $0.isASCII && $0.isNumber }
        guard !major.isEmpty, major.count <= 4 else { return false }
        rest = rest.dropFirst(major.count)
        if rest.isEmpty { return true }
        for stage in ["alpha", "beta"] where rest.hasPrefix(stage) {
            let minor = rest.dropFirst(stage.count)
            return minor.count <= 4 && minor.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return false
    }

    // MARK: URLs (pure)

    /// One path segment percent-encoded: everything but RFC 3986 unreserved characters, so an id
    /// cannot add segments (`a/b`), a query (`?`), a custom method (`:ping`) or climb (`..`).
    public static func segment(_ raw: String) -> String {
        if raw == "." || raw == ".." || raw.isEmpty { return raw.isEmpty ? "%00" : String(repeating: "%2E", count: raw.count) }
        return percentEncoded(raw)
    }

    /// A resource path from segments, each encoded, with an optional custom method (`:ping`).
    /// `path("webhooks", id, method: "ping")` → `webhooks/ID:ping`.
    public static func path(_ segments: String..., method: String? = nil) -> String {
        segments.map(segment).joined(separator: "/") + (method.map { ":" + percentEncoded($0) } ?? "")
    }

    /// A resource name as the API spells it (`batches/123`, `operations/x/y`): split on `/`, each
    /// part encoded as a segment.
    public static func path(name: String) -> String {
        name.split(separator: "/", omittingEmptySubsequences: false).map { segment(String($0)) }.joined(separator: "/")
    }

    /// The URL for `path` (already made of encoded segments, e.g. from `path(_:)`) under base and
    /// version, with the query pairs encoded.
    public func url(_ path: String, query: [(String, String)] = []) -> String {
        GeminiAPI.url(base: base, version: version, path: path, query: query)
    }

    public static func url(base: FetchURL, version: String, path: String, query: [(String, String)]) -> String {
        var u = base.appending(path: "/" + version + "/" + path).string
        if !query.isEmpty { u += "?" + query.map { percentEncoded($0.0) + "=" + percentEncoded($0.1) }.joined(separator: "&") }
        return u
    }

    static func percentEncoded(_ raw: String) -> String {
        var out = ""
        for byte in raw.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += String(decoding: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    // MARK: Requests

    /// Sends one request and returns the parsed answer (`{}` for an empty 2xx body).
    /// `jsonBody` is sent as `application/json`; `nil` sends no body (GET, DELETE).
    public func request(_ method: String, _ path: String, query: [(String, String)] = [],
                        jsonBody: [UInt8]? = nil) throws(GeminiAPIError) -> JSON {
        try send(method, path, query: query, jsonBody: jsonBody).json
    }

    /// `request`, also giving the answer's size (the pager's budget counts it).
    func send(_ method: String, _ path: String, query: [(String, String)] = [],
              jsonBody: [UInt8]? = nil) throws(GeminiAPIError) -> (json: JSON, bytes: Int) {
        let call = GeminiAPIError.Call(method: method, path: "/" + version + "/" + path)
        if isCancelled?() == true { throw .cancelled(call) }
        var req = ClientRequest(method: method, url: url(path, query: query))
        req.timeout = timeout
        req.connectTimeout = min(timeout, 10)
        req.maxResponseBytes = maxResponseBytes
        req.isCancelled = isCancelled
        req.headers = [("x-goog-api-key", apiKey), ("Accept", "application/json")]
        if let jsonBody {
            req.headers.append(("Content-Type", "application/json"))
            req.body = jsonBody
        }
        let response: ClientResponse
        do { response = try HTTPClient.perform(req) } catch {
            if error.cancelled { throw .cancelled(call) }
            throw .connection(call, reason: redacted(error.message))
        }
        return (try GeminiAPI.interpret(status: response.status, body: response.body, call: call, key: apiKey), response.body.count)
    }

    /// `body` with every copy of `key` replaced by `[GEMINI_API_KEY]`.
    static func redacting(_ key: String, in body: [UInt8]) -> [UInt8] {
        let k = Array(key.utf8)
        guard let first = k.first, body.count >= k.count else { return body }
        var out: [UInt8] = []
        var i = 0, copied = 0
        while i <= body.count - k.count {
            if body[i] == first && body[i..<(i + k.count)].elementsEqual(k) {
                if out.isEmpty { out.reserveCapacity(body.count) }
                out += body[copied..<i]
                out += Array("[GEMINI_API_KEY]".utf8)
                i += k.count
                copied = i
            } else {
                i += 1
            }
        }
        guard copied > 0 else { return body }
        out += body[copied...]
        return out
    }

    /// Pure: a 2xx body parsed (`{}` when empty), anything else the API's error. An error's text
    /// has every copy of `key` replaced before it is cut to a snippet: a server echoing the header
    /// could otherwise show the key's first characters in a message cut in the middle of it. (A
    /// 2xx body is data, kept as it is.)
    public static func interpret(status: Int, body: [UInt8], call: GeminiAPIError.Call, key: String? = nil) throws(GeminiAPIError) -> JSON {
        let blank = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if (200..<300).contains(status), let parsed = blank ? JSON.object([]) : try? JSONParser.parse(body) { return parsed }
        let text = key.map { redacting($0, in: body) } ?? body
        let parsed = blank ? JSON.object([]) : try? JSONParser.parse(text)
        guard (200..<300).contains(status) else {
            let err = parsed?["error"]
            // The API's own words, on one line and without control characters (they go to a
            // terminal and to log lines), at most 1000 characters.
            let message = err?["message"]?.stringValue.map { printable($0, limit: 1000) } ?? (parsed == nil ? snippet(text) : nil)
            let error = GeminiAPIError.api(call, status: status, message: message, apiStatus: err?["status"]?.stringValue.map { printable($0, limit: 100) })
            throw key.map { error.redacting($0) } ?? error
        }
        throw .notJSON(call, status: status, snippet: snippet(text))
    }

    /// At most 200 printable characters of a body, for an error message.
    static func snippet(_ body: [UInt8]) -> String {
        printable(String(decoding: body.prefix(400), as: UTF8.self), limit: 200)
    }

    /// `text` with control characters (C0, DEL, C1) as spaces, trimmed, cut at `limit` characters.
    static func printable(_ text: String, limit: Int) -> String {
        let clean = String(text.unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? " " : Character($0) }).trimmingSpaces
        return clean.count > limit ? String(clean.prefix(limit)) + "…" : clean
    }

    func redacted(_ text: String) -> String {
        text.replacingAll(apiKey, with: "[GEMINI_API_KEY]")
    }
}

extension String {
    /// Every occurrence of `needle` replaced (no Foundation in this layer).
    func replacingAll(_ needle: String, with replacement: String) -> String {
        guard !needle.isEmpty, contains(needle) else { return self }
        return split(separator: needle, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
