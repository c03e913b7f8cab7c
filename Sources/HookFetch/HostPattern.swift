import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// One `HOOKHOST_FETCH_HOSTS` entry: `host` matches that host on any port, `host:port` only that
/// port. Hosts compare case-insensitively and exactly: no wildcards, no suffix matching.
public struct HostPattern: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int?

    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`; nil when malformed.
    public init?(_ text: String) {
        let t = text.trimmingSpaces
        guard !t.isEmpty, !t.contains("/"), !t.contains("@"), let (h, p) = FetchURL.splitAuthority(Substring(t)) else { return nil }
        // "host:" names no port; treat it as malformed rather than guess.
        if t.hasSuffix(":") { return nil }
        host = h
        port = p
    }

    /// True when `url` is on this host (and port, when one is given).
    public func matches(_ url: FetchURL) -> Bool {
        url.host == host && (port == nil || port == url.port)
    }

    public var description: String { port.map { "\(host):\($0)" } ?? host }
}
