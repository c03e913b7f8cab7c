/// A parsed HTTP/1.x request. Header names are stored lower-cased; values exactly as received.
public struct HTTPRequest: Sendable {
    public var method: String
    public var target: String
    public var versionMinor: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, versionMinor: Int = 1,
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
    }

    /// The path without query string. An absolute-form target (`http://host/path`, which
    /// RFC 9112 §3.2.2 says a server must accept) gives its path.
    public var path: String {
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
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    /// Whether the connection may be reused after this request (HTTP/1.1 default, 1.0 opt-in).
    public var keepAlive: Bool {
        let tokens = (header("connection") ?? "").lowercased().split(separator: ",").map { $0.trimmingSpaces }
        if tokens.contains("close") { return false }
        return versionMinor >= 1 || tokens.contains("keep-alive")
    }
}
