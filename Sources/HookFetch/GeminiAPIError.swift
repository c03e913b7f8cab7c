/// Why a Gemini API call failed, with the call it was (method and path, never the key or the query).
public enum GeminiAPIError: Error, Equatable, CustomStringConvertible {
    /// The request line, for messages: `POST /v1/webhooks`.
    public struct Call: Sendable, Equatable, CustomStringConvertible {
        public let method: String
        public let path: String
        public init(method: String, path: String) {
            self.method = method
            self.path = path
        }
        public var description: String { "\(method) \(path)" }
    }

    /// `GEMINI_API_KEY` is unset or empty.
    case missingKey
    /// `HOOKHOST_API_VERSION` is not `v1`, `v1beta`, `v1alpha`, `v2beta3`, ….
    case badVersion(String)
    /// The API answered with an error status; `message` and `apiStatus` are the body's
    /// `error.message` and `error.status` (`PERMISSION_DENIED`) when it had them.
    case api(Call, status: Int, message: String?, apiStatus: String?)
    /// No HTTP answer at all (refused, DNS, TLS, timeout).
    case connection(Call, reason: String)
    /// A 2xx answer whose body is not JSON.
    case notJSON(Call, status: Int, snippet: String)
    /// A list call whose pages did not end.
    case paging(path: String, reason: String)

    /// The HTTP status the API answered, if it answered.
    public var httpStatus: Int? {
        switch self {
        case .api(_, let s, _, _), .notJSON(_, let s, _): s
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .missingKey:
            "no API key: set GEMINI_API_KEY (the key of the Gemini project, from https://aistudio.google.com/apikey)"
        case .badVersion(let v):
            "HOOKHOST_API_VERSION: expected v1, v1beta, v1alpha (or v<digits>[alpha|beta<digits>]), got \"\(GeminiAPI.snippet(Array(v.utf8)))\""
        case .api(let call, let status, let message, let apiStatus):
            "\(call): Gemini answered HTTP \(status)" + (apiStatus.map { " \($0)" } ?? "") + (message.map { ": \($0)" } ?? "")
        case .connection(let call, let reason):
            "\(call): no answer from the API: \(reason)"
        case .notJSON(let call, let status, let snippet):
            "\(call): HTTP \(status) but the answer is not JSON: \(snippet.isEmpty ? "(empty)" : snippet)"
        case .paging(let path, let reason):
            "GET \(path): listing stopped: \(reason)"
        }
    }

    /// The same error with any echo of `key` in the server's text replaced, so a server that
    /// quotes the header back cannot put the key into our output.
    func redacting(_ key: String) -> GeminiAPIError {
        let r = { (s: String) in s.replacingAll(key, with: "[GEMINI_API_KEY]") }
        switch self {
        case .api(let c, let s, let m, let st): return .api(c, status: s, message: m.map(r), apiStatus: st.map(r))
        case .connection(let c, let reason): return .connection(c, reason: r(reason))
        case .notJSON(let c, let s, let snip): return .notJSON(c, status: s, snippet: r(snip))
        default: return self
        }
    }
}
