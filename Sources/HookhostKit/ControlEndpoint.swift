import Dispatch
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch
/// A control request that cannot be understood (answered 400).
public struct ControlRequestError: Error, Equatable {
    public let message: String
}

/// The control socket's HTTP API (unix socket in the data directory, mode 0600).
public struct ControlEndpoint: HTTPResponder {
    public let admin: SpoolAdmin
    /// The running host's status report; nil with the host stopped (the CLI's direct path), when
    /// `/status` reports what the spool and the functions directory show.
    public let status: (@Sendable () -> StatusReport)?

    public init(admin: SpoolAdmin, status: (@Sendable () -> StatusReport)? = nil) {
        self.admin = admin
        self.status = status
    }

    public func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
        // Admin work reads and writes the spool (a purge may fsync once per delivery): never on
        // the event loop, which also carries the answers to other operator requests.
        ControlEndpoint.queue.async { respond(answer(request)) }
    }

    private static let queue = DispatchQueue(label: "hookhost.control")

    /// Answers one control request synchronously (the CLI's direct path, with the server stopped).
    public func answer(_ request: HTTPRequest) -> HTTPResponse {
        let query: [String: String]
        switch ControlEndpoint.query(request.target) {
        case .success(let q): query = q
        case .failure(let e): return .error(400, e.message)
        }
        let parts = request.path.split(separator: "/").map { ControlEndpoint.percentDecode(String($0)) }
        // A filter that is not understood must not widen the action: `purge?typ=x` purging every
        // dead letter is worse than an error.
        if let allowed = ControlEndpoint.parameters(method: request.method, parts: parts),
           let unknown = query.keys.sorted().first(where: { !allowed.contains($0) }) {
            let known = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
            return .error(400, "unknown query parameter \(unknown) for \(request.method) \(request.path) (known: \(known))")
        }
        switch (request.method, parts.count, parts.first) {
        case ("GET", 1, "deliveries"):
            let state = query["state"].flatMap(DeliveryState.init(rawValue:))
            if query["state"] != nil && state == nil { return .error(400, "unknown state \(query["state"]!)") }
            let limit = query["limit"].flatMap { Int($0) }
            if query["limit"] != nil && (limit ?? -1) < 0 { return .error(400, "limit must be a whole number ≥ 0, not \(query["limit"]!)") }
            let since = query["since"].flatMap { Double($0) }
            if query["since"] != nil && !(since?.isFinite ?? false) { return .error(400, "since must be seconds since the epoch, not \(query["since"]!)") }
            if let root = query["root"], root.isEmpty { return .error(400, "root must name a delivery id") }
            guard let body = admin.list(state: state, type: query["type"], since: since, limit: limit, root: query["root"]) else {
                return .error(404, "no delivery \(query["root"] ?? "")")
            }
            return .json(200, body)
        case ("GET", 2, "deliveries"):
            if let body = admin.show(parts[1]) { return .json(200, body) }
            return .error(404, "no delivery \(parts[1])")
        case ("POST", 3, "deliveries") where parts[2] == "replay":
            switch admin.replay(parts[1]) {
            case .success(let b): return .json(200, b)
            case .failure(.notFound(let id)): return .error(404, "no delivery \(id)")
            case .failure(.conflict(let m)): return .error(409, m)
            }
        case ("POST", 2, "dead") where parts[1] == "retry":
            return .json(200, admin.retryDead(type: query["type"]))
        case ("POST", 2, "dead") where parts[1] == "purge":
            return .json(200, admin.purgeDead(type: query["type"]))
        case ("GET", 1, "status"):
            return .json(200, (status?() ?? admin.offlineStatus()).json)
        default:
            return .error(404, "unknown control request \(request.method) \(request.path)")
        }
    }

    /// The query parameters a request takes; nil for a request that does not exist (404).
    static func parameters(method: String, parts: [String]) -> Set<String>? {
        switch (method, parts.count, parts.first) {
        case ("GET", 1, "deliveries"): ["state", "type", "since", "limit", "root"]
        case ("GET", 2, "deliveries"): []
        case ("POST", 3, "deliveries") where parts[2] == "replay": []
        case ("POST", 2, "dead") where parts[1] == "retry" || parts[1] == "purge": ["type"]
        case ("GET", 1, "status"): []
        default: nil
        }
    }

    /// The query parameters; an empty or repeated name is an error, not a guess.
    static func query(_ target: String) -> Result<[String: String], ControlRequestError> {
        guard let q = target.firstIndex(of: "?") else { return .success([:]) }
        var out: [String: String] = [:]
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(kv[0]))
            guard !name.isEmpty else { return .failure(ControlRequestError(message: "query parameter without a name")) }
            guard out[name] == nil else { return .failure(ControlRequestError(message: "query parameter \(name) given twice")) }
            out[name] = kv.count > 1 ? percentDecode(String(kv[1])) : ""
        }
        return .success(out)
    }

    /// Decodes %XX escapes (ids may contain any header-safe character).
    public static func percentDecode(_ s: String) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v); i += 3
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Escapes everything but letters, digits, `-`, `_` and `~`. `.` is escaped too although it
    /// is unreserved: an id `.` or `..` would otherwise be a dot segment, which URL clients
    /// (libcurl) remove, turning `/deliveries/..` into `/`.
    public static func percentEncode(_ s: String) -> String {
        var out = ""
        for c in s.utf8 {
            let unreserved = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x7E
            if unreserved { out.append(Character(Unicode.Scalar(c))) } else {
                let hex = Array("0123456789ABCDEF")
                out += "%\(hex[Int(c >> 4)])\(hex[Int(c & 0xF)])"
            }
        }
        return out
    }
}
