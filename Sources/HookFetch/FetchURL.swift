import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// An absolute http(s) URL, parsed strictly so that the host the policy checks is the host libcurl
/// connects to: no user-info (`https://api@evil`), no backslashes, spaces or non-ASCII, a host made
/// only of name characters or a bracketed IPv6 literal. libcurl is always given `string`, which is
/// rebuilt from the parsed parts, never the text as received.
public struct FetchURL: Sendable, Equatable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// Lower-cased host; an IPv6 literal keeps its brackets.
    public let host: String
    /// The effective port (80/443 when the URL names none).
    public let port: Int
    /// Path and query, always starting with `/`; no fragment.
    public let target: String

    /// Parses `text`; nil when it is not an absolute http(s) URL this strict grammar accepts.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        // Control characters, spaces, non-ASCII and backslashes are where URL parsers disagree.
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else { return nil }
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") { scheme = "https"; rest = text.dropFirst(8) }
        else if lower.hasPrefix("http://") { scheme = "http"; rest = text.dropFirst(7) }
        else { return nil }
        let noFragment = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let authEnd = noFragment.firstIndex { $0 == "/" || $0 == "?" } ?? noFragment.endIndex
        let authority = noFragment[..<authEnd]
        var path = String(noFragment[authEnd...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !authority.contains("@"), let (h, p) = FetchURL.splitAuthority(authority) else { return nil }
        host = h
        port = p ?? (scheme == "https" ? 443 : 80)
        target = path
    }

    /// A URL from parts already known to be valid (bases joined with encoded paths).
    init(scheme: String, host: String, port: Int, target: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
    }

    /// What libcurl is given. The port is written only when it is not the scheme's default, so
    /// the `Host` header matches what a browser would send.
    public var string: String { "\(scheme)://\(authority)\(target)" }

    /// `host` or `host:port` as it appears in `string`.
    public var authority: String { port == (scheme == "https" ? 443 : 80) ? host : "\(host):\(port)" }

    /// Scheme, host and port: credentials never cross from one origin to another.
    public var origin: String { "\(scheme)://\(host):\(port)" }

    /// For logs and error reasons: no query, since signed URLs carry their signature there.
    public var redacted: String { URLRedaction.withoutQuery(string) }

    public var description: String { redacted }

    /// This URL with `suffix` appended to its path (a base like `http://h:1/prefix/` joined with
    /// `/v1beta/...`); the suffix must already be percent-encoded.
    func appending(path suffix: String) -> FetchURL {
        var base = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        while base.hasSuffix("/") { base.removeLast() }
        return FetchURL(scheme: scheme, host: host, port: port, target: base + suffix)
    }

    /// Where a `Location` header points, resolved against this URL (RFC 3986 forms seen in practice:
    /// absolute, scheme-relative, absolute path, query only, relative path). Nil when the result is
    /// not an http(s) URL this type accepts — such a redirect is never followed.
    public func resolving(location raw: String) -> FetchURL? {
        let loc = raw.trimmingSpaces
        guard !loc.isEmpty else { return nil }
        if loc.hasPrefix("//") { return FetchURL(scheme + ":" + loc) }
        if loc.contains("://") || loc.lowercased().hasPrefix("http:") || loc.lowercased().hasPrefix("https:") { return FetchURL(loc) }
        // Any other scheme ("file:", "ftp:", "javascript:") before the first slash is refused.
        if let colon = loc.firstIndex(of: ":"), !loc[..<colon].contains("/"), !loc[..<colon].contains("?") { return nil }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        let joined: String
        if loc.hasPrefix("/") { joined = loc }
        else if loc.hasPrefix("?") { joined = path + loc }
        else { joined = String(path[...(path.lastIndex(of: "/") ?? path.startIndex)]) + loc }
        return FetchURL(scheme + "://" + authority + FetchURL.removingDotSegments(joined))
    }

    /// RFC 3986 §5.2.4 on a path (query kept as is): the request goes out exactly as built
    /// (libcurl is told not to normalise), so a relative redirect is resolved here.
    static func removingDotSegments(_ target: String) -> String {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var out: [Substring] = []
        let segments = parts[0].split(separator: "/", omittingEmptySubsequences: false)
        for (i, seg) in segments.enumerated() {
            let last = i == segments.count - 1
            if seg == "." { if last { out.append("") }; continue }
            if seg == ".." {
                if out.count > 1 { out.removeLast() }
                if last { out.append("") }
                continue
            }
            out.append(seg)
        }
        var path = out.joined(separator: "/")
        if !path.hasPrefix("/") { path = "/" + path }
        return parts.count > 1 ? path + "?" + parts[1] : path
    }

    /// Splits `host[:port]` or `[v6][:port]`; nil when either part is malformed.
    static func splitAuthority(_ a: Substring) -> (String, Int?)? {
        let hostPart: Substring
        let portPart: Substring?
        if a.hasPrefix("[") {
            guard let close = a.firstIndex(of: "]") else { return nil }
            hostPart = a[...close]
            let after = a[a.index(after: close)...]
            if after.isEmpty { portPart = nil }
            else if after.hasPrefix(":") { portPart = after.dropFirst() }
            else { return nil }
            guard hostPart.dropFirst().dropLast().allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }), hostPart.count > 2 else { return nil }
        } else {
            let parts = a.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            hostPart = parts[0]
            portPart = parts.count > 1 ? parts[1] : nil
            guard !hostPart.isEmpty, hostPart.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." || $0 == "_" }) else { return nil }
        }
        var port: Int?
        if let pp = portPart, !pp.isEmpty {
            guard pp.count <= 5, pp.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(pp), (1...65535).contains(n) else { return nil }
            port = n
        }
        return (hostPart.lowercased(), port)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (a GCS object name or an id
    /// becomes exactly one path segment).
    public static func encodeSegment(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
