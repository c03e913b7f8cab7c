import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// The JWKS at a URL (Gemini's by default), over libcurl with short timeouts: a delivery may be
/// waiting for it.
public struct HTTPJWKSSource: JWKSSource {
    public let url: String
    /// Seconds for the whole fetch, and for the connection.
    public var timeout: Double = 5
    public var connectTimeout: Double = 3

    public init(url: String) { self.url = url }

    /// Without the query: a key in it would otherwise reach logs and `/readyz`.
    public var location: String { URLRedaction.withoutQuery(url) }
    public var pollInterval: Double? { nil }
    public func changed() -> Bool { false }

    public func fetch() throws(JWKSFetchError) -> JWKSDocument {
        var req = ClientRequest(url: url)
        req.timeout = timeout
        req.connectTimeout = connectTimeout
        req.maxResponseBytes = JWKSet.maxBytes
        req.headers = [("Accept", "application/json")]
        let resp: ClientResponse
        do { resp = try HTTPClient.perform(req) } catch { throw JWKSFetchError(error.message) }
        guard resp.status == 200 else { throw JWKSFetchError("HTTP \(resp.status) from \(location)") }
        return JWKSDocument(bytes: resp.body, maxAge: resp.header("Cache-Control").flatMap(HTTPJWKSSource.maxAge))
    }

    /// `max-age` from a Cache-Control value; nil when absent, 0 for `no-store`/`no-cache` (the
    /// cache's floor then applies). RFC 9111: the first `max-age` counts; its argument may be
    /// quoted; one that is not digits (`1e999`, `-1`, `soon`) is invalid freshness information,
    /// so the JWKS counts as stale (0, the floor) rather than as having said nothing (1 h); one
    /// too large to represent is large (the cache's ceiling).
    static func maxAge(_ cacheControl: String) -> Double? {
        var age: Double?
        for directive in cacheControl.split(separator: ",") {
            let d = directive.trimmingSpaces.lowercased()
            if d == "no-store" || d == "no-cache" { return 0 }
            guard age == nil, d.hasPrefix("max-age") else { continue }
            var v = Substring(d.dropFirst(7))
            guard v.first == "=" || v.isEmpty else { continue }  // another directive, e.g. max-agent
            v = Substring(v.dropFirst().trimmingSpaces)
            if v.count >= 2, v.first == "\"", v.last == "\"" { v = v.dropFirst().dropLast() }
            let digits = !v.isEmpty && v.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            age = digits ? Double(v) ?? 0 : 0
        }
        return age
    }
}
