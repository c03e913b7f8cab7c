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

    /// Refuses a missing or empty key (`GEMINI_API_KEY`) and a version `isValidVersion` rejects.
    public init(base: FetchURL, version: String, apiKey: String?) throws(GeminiAPIError) {
        guard let apiKey, !apiKey.isEmpty else { throw .missingKey }
        guard GeminiAPI.isValidVersion(version) else { throw .badVersion(version) }
        self.base = base
        self.version = version
        self.apiKey = apiKey
    }

    public var description: String { "\(base.redacted)/\(version) (key from GEMINI_API_KEY)" }

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
        let call = GeminiAPIError.Call(method: method, path: "/" + version + "/" + path)
        var req = ClientRequest(method: method, url: url(path, query: query))
        req.timeout = timeout
        req.connectTimeout = min(timeout, 10)
        req.maxResponseBytes = 16 << 20
        req.headers = [("x-goog-api-key", apiKey), ("Accept", "application/json")]
        if let jsonBody {
            req.headers.append(("Content-Type", "application/json"))
            req.body = jsonBody
        }
        let response: ClientResponse
        do { response = try HTTPClient.perform(req) } catch {
            throw .connection(call, reason: redacted(error.message))
        }
        do {
            return try GeminiAPI.interpret(status: response.status, body: response.body, call: call)
        } catch {
            throw error.redacting(apiKey)
        }
    }

    /// Pure: a 2xx body parsed (`{}` when empty), anything else the API's error.
    public static func interpret(status: Int, body: [UInt8], call: GeminiAPIError.Call) throws(GeminiAPIError) -> JSON {
        let parsed = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 } ? JSON.object([]) : try? JSONParser.parse(body)
        guard (200..<300).contains(status) else {
            let err = parsed?["error"]
            throw .api(call, status: status, message: err?["message"]?.stringValue ?? (parsed == nil ? snippet(body) : nil),
                       apiStatus: err?["status"]?.stringValue)
        }
        guard let parsed else { throw .notJSON(call, status: status, snippet: snippet(body)) }
        return parsed
    }

    /// At most 200 printable characters of a body, for an error message.
    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(400), as: UTF8.self)
        let clean = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }).trimmingSpaces
        return clean.count > 200 ? String(clean.prefix(200)) + "…" : clean
    }

    private func redacted(_ text: String) -> String {
        text.replacingAll(apiKey, with: "[GEMINI_API_KEY]")
    }

    // MARK: Paging

    /// How a list call spells its paging fields: WebhookService uses snake_case (`page_size`,
    /// `page_token`), batches camelCase (`pageSize`, `pageToken`), as google-genai sends them.
    public enum PageStyle: Sendable {
        case snake, camel
        var sizeName: String { self == .snake ? "page_size" : "pageSize" }
        var tokenName: String { self == .snake ? "page_token" : "pageToken" }
    }

    /// The next page's token from either spelling; nil (or empty) ends the listing.
    public static func nextPageToken(_ page: JSON) -> String? {
        let token = page["next_page_token"]?.stringValue ?? page["nextPageToken"]?.stringValue
        return token?.isEmpty == false ? token : nil
    }

    /// Every page of a list call, in order. Stops with `.paging` when a server repeats a token or
    /// returns more than `maxPages` pages, so a broken server cannot keep the caller forever.
    public func pages(_ path: String, query: [(String, String)] = [], style: PageStyle, pageSize: Int? = nil,
                      maxPages: Int = 1000) throws(GeminiAPIError) -> [JSON] {
        var pages: [JSON] = []
        var seen: Set<String> = []
        var token: String?
        repeat {
            var q = query
            if let pageSize { q.append((style.sizeName, String(pageSize))) }
            if let token { q.append((style.tokenName, token)) }
            let page = try request("GET", path, query: q)
            pages.append(page)
            token = GeminiAPI.nextPageToken(page)
            if let t = token {
                guard seen.insert(t).inserted else { throw .paging(path: "/" + version + "/" + path, reason: "the server repeated page token \"\(GeminiAPI.snippet(Array(t.utf8)))\"") }
                guard pages.count < maxPages else { throw .paging(path: "/" + version + "/" + path, reason: "more than \(maxPages) pages") }
            }
        } while token != nil
        return pages
    }

    /// The members named `key` (`webhooks`, `operations`) of every page, concatenated.
    public func list(_ path: String, items key: String, query: [(String, String)] = [], style: PageStyle,
                     pageSize: Int? = nil, maxPages: Int = 1000) throws(GeminiAPIError) -> [JSON] {
        var items: [JSON] = []
        for page in try pages(path, query: query, style: style, pageSize: pageSize, maxPages: maxPages) {
            if case .array(let a)? = page[key] { items += a }
        }
        return items
    }
}

extension String {
    /// Every occurrence of `needle` replaced (no Foundation in this layer).
    func replacingAll(_ needle: String, with replacement: String) -> String {
        guard !needle.isEmpty, contains(needle) else { return self }
        return split(separator: needle, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
