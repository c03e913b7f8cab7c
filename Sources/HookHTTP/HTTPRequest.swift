import HookSupport
import HookNet
/// A parsed HTTP/1.x request. Header names are stored lower-cased; values exactly as received.
public struct HTTPRequest: Sendable {
    public var method: String
    public let target: String
    /// The path without query string. An absolute-form target (`http://host/path`, which
    /// RFC 9112 §3.2.2 says a server must accept) gives its path. Worked out once: routing
    /// looks at it several times per request.
    public let path: String
    public var versionMinor: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The connection's remote address (`203.0.113.7:51234`, `unix`), set by the server; nil when
    /// unknown (a request built by hand, a client gone before it was asked). For logs: behind a
    /// load balancer this is the balancer.
    public var peer: String?

    public init(method: String, target: String, versionMinor: Int = 1,
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.path = HTTPRequest.path(of: target)
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
    }

    private static func path(of target: String) -> String {
        // Origin form without a query (every delivery): the target is the path, no copy.
        if target.utf8.first == UInt8(ascii: "/"), !target.utf8.contains(UInt8(ascii: "?")) { return target }
        var t = Substring(target)
        for scheme in ["http://", "https://"] where t.count > scheme.count && t.prefix(scheme.count).lowercased() == scheme {
            let rest = t.dropFirst(scheme.count)
            t = rest.firstIndex(where: { $0 == "/" || $0 == "?" }).map { rest[$0...] } ?? "/"
            if t.first == "?" { t = "/" + t }
            break
        }
        if let q = t.firstIndex(of: "?") { return String(t[..<q]) }
        return String(t)
    }

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name
        return headers.first { $0.name == lower }?.value
    }

    /// Whether the connection may be reused after this request (HTTP/1.1 default, 1.0 opt-in).
    public var keepAlive: Bool {
        let tokens = (header("connection") ?? "").lowercased().split(separator: ",").map { $0.trimmingSpaces }
        if tokens.contains("close") { return false }
        return versionMinor >= 1 || tokens.contains("keep-alive")
    }
}
