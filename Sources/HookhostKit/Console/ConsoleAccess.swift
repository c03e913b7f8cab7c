import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Who may read the console and who may act through it. Pure: a request's method and headers
/// go in, a verdict comes out.
///
/// The token travels only in `Authorization: Bearer …`, never in a URL (logs, history, Referer)
/// or a cookie (a browser adds cookies to a foreign page's requests: CSRF). A foreign page can
/// neither read it (the console's page keeps it in its own sessionStorage) nor set that header
/// on a cross-origin request without a CORS preflight, which the console never allows. Actions
/// further require `Content-Type: application/json` (a cross-site form cannot send it) and an
/// `Origin`, when a browser sends one, that is the console's own.
public struct ConsoleAccess: Sendable {
    /// SHA-256 of `HOOKHOST_ADMIN_TOKEN`: compared digest to digest, so the time a comparison
    /// takes tells nothing about the token, not even its length. Nil when none is set.
    let tokenDigest: [UInt8]?
    /// Reads need no token: the listener is loopback (or a unix socket) and trusted as such.
    public let openReads: Bool

    public init(token: String?, openReads: Bool) {
        tokenDigest = token.map { Crypto.sha256(Array($0.utf8)) }
        self.openReads = openReads
    }

    public enum Verdict: Sendable, Equatable {
        case allowed
        /// `wrongToken`: a token was sent and is not the one (logged, rate-limited; never its value).
        case refused(status: Int, message: String, wrongToken: Bool)
    }

    /// Whether a listener on `address` counts as loopback: `127.0.0.0/8`, `::1`, or a unix socket
    /// (reachable only through its file's permissions).
    public static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .inet(let host, _): host.hasPrefix("127.")
        case .inet6(let host, _): host == "::1" || host == "0:0:0:0:0:0:0:1"
        case .unix: true
        }
    }

    /// A read (`GET` of the console's data).
    ///
    /// Open reads hold only for a request that names the listener as loopback (`Host:
    /// localhost`, `127.x.x.x`, `[::1]`): a page on `evil.example` whose name is made to resolve
    /// to 127.0.0.1 (DNS rebinding) is the console's own origin to the browser, which then sends
    /// `Host: evil.example`; answered, that page would read every delivery. A request without a
    /// `Host` is no browser's.
    public func checkRead(_ request: HTTPRequest) -> Verdict {
        let sent = ConsoleAccess.bearer(request)
        if openReads && sent == nil {
            guard let host = request.header("host"), !ConsoleAccess.namesLoopback(host) else { return .allowed }
            return checkToken(nil, missing: "reading the console through the name \(host.prefix(100)) needs the admin token (Authorization: Bearer …); without it, only through localhost, 127.0.0.1 or [::1]",
                              unset: "reading the console through the name \(host.prefix(100)) needs HOOKHOST_ADMIN_TOKEN set on the host and sent (Authorization: Bearer …); without it, only through localhost, 127.0.0.1 or [::1]")
        }
        return checkToken(sent, missing: "reading the console on a listener that is not loopback needs the admin token (Authorization: Bearer …)",
                          unset: "reading the console on a listener that is not loopback needs HOOKHOST_ADMIN_TOKEN set on the host")
    }

    /// Whether a `Host` header names the loopback: `localhost` (and `*.localhost`, which
    /// browsers resolve to loopback themselves, never through DNS), an IPv4 literal in
    /// `127.0.0.0/8`, or `[::1]`; with or without a port. Pure.
    static func namesLoopback(_ host: String) -> Bool {
        func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let rest = name[name.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(isDigit)) else { return false }
            let v6 = name[name.index(after: name.startIndex)..<close]
            return v6 == "::1" || v6 == "0:0:0:0:0:0:0:1"
        }
        if let colon = name.lastIndex(of: ":") {
            guard name[name.index(after: colon)...].allSatisfy(isDigit) else { return false }
            name = name[..<colon]
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        if name == "localhost" || name.hasSuffix(".localhost") { return !name.hasPrefix(".") }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ o in !o.isEmpty && o.count <= 3 && o.allSatisfy(isDigit) && (Int(o) ?? 256) <= 255 }) else {
            return false
        }
        return octets[0] == "127"
    }

    /// An action (replay, purge, pause, resume): always the token, never from a foreign origin.
    public func checkAction(_ request: HTTPRequest) -> Verdict {
        if let origin = request.header("origin"), !ConsoleAccess.isOwnOrigin(origin, host: request.header("host")) {
            return .refused(status: 403, message: "actions from another origin (\(origin.prefix(100))) are refused", wrongToken: false)
        }
        if request.header("sec-fetch-site") == "cross-site" {
            return .refused(status: 403, message: "cross-site actions are refused", wrongToken: false)
        }
        let type = request.header("content-type")?.split(separator: ";").first.map { $0.trimmingSpaces.lowercased() }
        guard type == "application/json" else {
            return .refused(status: 415, message: "actions take Content-Type: application/json", wrongToken: false)
        }
        return checkToken(ConsoleAccess.bearer(request), missing: "actions need the admin token (Authorization: Bearer …)",
                          unset: "actions need HOOKHOST_ADMIN_TOKEN set on the host (none is set, so none is allowed)")
    }

    private func checkToken(_ sent: String?, missing: String, unset: String) -> Verdict {
        guard let tokenDigest else { return .refused(status: 401, message: unset, wrongToken: false) }
        guard let sent else { return .refused(status: 401, message: missing, wrongToken: false) }
        guard Crypto.constantTimeEqual(Crypto.sha256(Array(sent.utf8)), tokenDigest) else {
            return .refused(status: 401, message: "wrong admin token", wrongToken: true)
        }
        return .allowed
    }

    /// The token of `Authorization: Bearer TOKEN` (scheme case-insensitive), nil without one.
    static func bearer(_ request: HTTPRequest) -> String? {
        guard let v = request.header("authorization") else { return nil }
        let parts = v.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return "" }  // sent, but not ours: wrong
        return parts[1].trimmingSpaces
    }

    /// `Origin` is the page the request came from: the console's own is this host, over either
    /// scheme (the main listener may speak TLS). `null` (a sandboxed or file page) is foreign.
    static func isOwnOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        let o = origin.lowercased(), h = host.lowercased()
        return o == "http://" + h || o == "https://" + h
    }
}
