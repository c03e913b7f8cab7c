import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HookEvent

/// The few Gemini API calls the example functions make, over plain HTTPS with the API key in
/// `x-goog-api-key` — no SDK. Paths are the ones google-genai 3.3.0 uses (`v1/…`), so the
/// same code talks to Google or to `hookhost demo`'s stand-in.
public struct GeminiAPI: Sendable {
    /// `https://generativelanguage.googleapis.com`, or `GOOGLE_GEMINI_BASE_URL` (google-genai's own variable).
    public let base: String
    let apiKey: String

    public static let defaultBase = "https://generativelanguage.googleapis.com"
    /// Responses larger than this are refused (a batch input file read whole to find one key).
    public static let maxResponseBytes = 256 << 20

    public init(base: String, apiKey: String) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.apiKey = apiKey
    }

    /// From `GEMINI_API_KEY` (else `GOOGLE_API_KEY`) and `GOOGLE_GEMINI_BASE_URL`: name them in the
    /// sidecar's `pass_env` (hookhost hands a function none of its own variables otherwise).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> GeminiAPI? {
        guard let key = environment["GEMINI_API_KEY"] ?? environment["GOOGLE_API_KEY"], !key.isEmpty else { return nil }
        let base = environment["GOOGLE_GEMINI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBase
        return GeminiAPI(base: base, apiKey: key)
    }

    /// `GET {base}/{path}`, answered JSON.
    public func get(_ path: String) async throws(GeminiError) -> JSONValue {
        try decode(try await send("GET", path, body: nil), path: path)
    }

    /// `POST {base}/{path}` with a JSON body, answered JSON.
    public func post(_ path: String, _ body: JSONValue) async throws(GeminiError) -> JSONValue {
        let data: Data
        do { data = try JSONEncoder().encode(body) } catch { throw .invalidResponse(path: path, reason: "cannot encode the body: \(error)") }
        return try decode(try await send("POST", path, body: data), path: path)
    }

    /// `GET {base}/{path}` as bytes (a file download).
    public func download(_ path: String) async throws(GeminiError) -> Data {
        try await send("GET", path, body: nil)
    }

    private func send(_ method: String, _ path: String, body: Data?) async throws(GeminiError) -> Data {
        guard let url = URL(string: base + "/" + path) else { throw .invalidResponse(path: path, reason: "not a URL: \(base)/\(path)") }
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.httpMethod = method
        request.setValue(apiKey, forHTTPHeaderField: "x-goog-api-key")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data, response: URLResponse
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw .network(path: path, reason: error.localizedDescription)
        }
        guard let http = response as? HTTPURLResponse else { throw .invalidResponse(path: path, reason: "not an HTTP response") }
        guard data.count <= Self.maxResponseBytes else { throw .invalidResponse(path: path, reason: "over \(Self.maxResponseBytes) bytes") }
        guard (200..<300).contains(http.statusCode) else {
            // Google's errors: {"error":{"code","message","status"}}; the message says what was wrong.
            let error = (try? JSONDecoder().decode(JSONValue.self, from: data))?["error"]
            let message = error?["message"]?.stringValue ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw .status(path: path, code: http.statusCode, message: message)
        }
        return data
    }

    private func decode(_ data: Data, path: String) throws(GeminiError) -> JSONValue {
        do { return try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw .invalidResponse(path: path, reason: "not JSON: \(error)")
        }
    }

    /// One path segment, percent-encoded (ids come from webhooks: never let one add a `/`).
    public static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// A call that failed, and what hookhost should do about it (`exitCode`).
public enum GeminiError: Error, CustomStringConvertible {
    /// No answer (connection refused, timeout, DNS).
    case network(path: String, reason: String)
    /// A non-2xx answer with Google's error message.
    case status(path: String, code: Int, message: String)
    /// An answer this code cannot read.
    case invalidResponse(path: String, reason: String)

    /// 75 for what passes (network, 408, 429, 5xx), 65 for a request that will never work (other
    /// 4xx: the input names something that is not there), 1 for a setup fault (401/403: the key).
    public var exitCode: Int32 {
        switch self {
        case .network: return HookExit.retryLater
        case .status(_, let code, _) where code == 401 || code == 403: return 1
        case .status(_, let code, _) where code == 408 || code == 429 || code >= 500: return HookExit.retryLater
        case .status: return HookExit.permanentFailure
        case .invalidResponse: return HookExit.retryLater
        }
    }

    public var description: String {
        switch self {
        case .network(let path, let reason): return "\(path): \(reason)"
        case .status(let path, let code, let message): return "\(path): HTTP \(code): \(message)"
        case .invalidResponse(let path, let reason): return "\(path): \(reason)"
        }
    }
}
