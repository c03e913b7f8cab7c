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
    public func checkRead(_ request: HTTPRequest) -> Verdict {
        let sent = ConsoleAccess.bearer(request)
        if openReads && sent == nil { return .allowed }
        return checkToken(sent, missing: "reading the console on a listener that is not loopback needs the admin token (Authorization: Bearer …)",
                          unset: "reading the console on a listener that is not loopback needs HOOKHOST_ADMIN_TOKEN set on the host")
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
