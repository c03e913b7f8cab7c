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
    /// The running host's drain; nil with the host stopped (nothing to drain).
    public let drain: Drainer?

    public init(admin: SpoolAdmin, status: (@Sendable () -> StatusReport)? = nil, drain: Drainer? = nil) {
        self.admin = admin
        self.status = status
        self.drain = drain
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
        let filter: DeliveryFilter
        switch ControlEndpoint.filter(query) {
        case .success(let f): filter = f
        case .failure(let e): return .error(400, e.message)
        }
        switch (request.method, parts.count, parts.first) {
        case ("GET", 1, "deliveries"):
            let limit = query["limit"].flatMap { Int($0) }
            if query["limit"] != nil && (limit ?? -1) < 0 { return .error(400, "limit must be a whole number ≥ 0, not \(query["limit"]!)") }
            if let root = query["root"], root.isEmpty { return .error(400, "root must name a delivery id") }
            guard let body = admin.list(filter, limit: limit, root: query["root"]) else {
                return .error(404, "no delivery \(query["root"] ?? "")")
            }
            return .json(200, body)
        case ("GET", 2, "deliveries"):
            if let body = admin.show(parts[1]) { return .json(200, body) }
            return .error(404, "no delivery \(parts[1])")
        case ("POST", 3, "deliveries") where parts[2] == "replay":
            return ControlEndpoint.answer(admin.replay(parts[1]))
        case ("POST", 2, "deliveries") where parts[1] == "replay":
            return ControlEndpoint.answer(admin.replay(filter))
        case ("POST", 2, "deliveries") where parts[1] == "purge":
            return ControlEndpoint.answer(admin.purge(filter))
        case ("POST", 2, "deliveries") where parts[1] == "admit":
            // Anything but 1 or 0 is refused: `dry_run=true` admitting for real would be an
            // action wider than the one asked for.
            guard let dryRun = ["1": true, "0": false][query["dry_run"] ?? "0"] else {
                return .error(400, "dry_run takes 1 or 0, not \(query["dry_run"] ?? "")")
            }
            return ControlEndpoint.answer(admin.admitSynthesized(request.body, dryRun: dryRun))
        case ("POST", 2, "dead") where parts[1] == "retry":
            return ControlEndpoint.answer(admin.retryDead(type: query["type"]))
        case ("POST", 2, "dead") where parts[1] == "purge":
            return ControlEndpoint.answer(admin.purgeDead(type: query["type"]))
        case ("POST", 3, "functions") where parts[2] == "pause":
            return ControlEndpoint.answer(admin.pause(parts[1]))
        case ("POST", 3, "functions") where parts[2] == "resume":
            return ControlEndpoint.answer(admin.resume(parts[1]))
        case ("GET", 1, "status"):
            return .json(200, (status?() ?? admin.offlineStatus()).json)
        case (_, 1, "drain"):
            return ControlEndpoint.drain(drain, method: request.method, query: query)
        default:
            return .error(404, "unknown control request \(request.method) \(request.path)")
        }
    }

    /// An action's answer: its JSON, or the error as the status that says what went wrong.
    static func answer(_ result: Result<[UInt8], AdminError>) -> HTTPResponse {
        switch result {
        case .success(let b): .json(200, b)
        case .failure(.notFound(let id)): .error(404, "no delivery \(id)")
        case .failure(.noFunction(let m)): .error(404, m)
        case .failure(.conflict(let m)): .error(409, m)
        case .failure(.invalid(let m)): .error(400, m)
        case .failure(.unavailable(let m)): .error(503, m)
        }
    }

    /// The filter parameters (`state`, `type`, `function`, `since`, `until`) of a request; a
    /// value that is not understood is an error, never a filter dropped (which would widen it).
    static func filter(_ query: [String: String]) -> Result<DeliveryFilter, ControlRequestError> {
        var f = DeliveryFilter(type: query["type"], function: query["function"])
        if let s = query["state"] {
            guard let state = DeliveryState(rawValue: s) else { return .failure(ControlRequestError(message: "unknown state \(s)")) }
            f.state = state
        }
        for (name, value) in [("since", query["since"]), ("until", query["until"])] {
            guard let value else { continue }
            // Decimal notation only: Double(_:) also reads hex (`0x10`), which no client sends
            // for a time and which must not quietly become one.
            guard value.utf8.allSatisfy({ ControlEndpoint.decimalCharacters.contains($0) }), let t = Double(value), t.isFinite else {
                return .failure(ControlRequestError(message: "\(name) must be seconds since the epoch, not \(value)"))
            }
            if name == "since" { f.since = t } else { f.until = t }
        }
        if let since = f.since, let until = f.until, until <= since {
            return .failure(ControlRequestError(message: "until must be later than since"))
        }
        if f.function?.isEmpty == true { return .failure(ControlRequestError(message: "function must name a function")) }
        if f.type?.isEmpty == true { return .failure(ControlRequestError(message: "type must name an event type or family")) }
        return .success(f)
    }

    /// The query parameters a request takes; nil for a request that does not exist (404).
    static func parameters(method: String, parts: [String]) -> Set<String>? {
        let filters: Set<String> = ["state", "type", "function", "since", "until"]
        return switch (method, parts.count, parts.first) {
        case ("GET", 1, "deliveries"): filters.union(["limit", "root"])
        case ("GET", 2, "deliveries"): []
        case ("POST", 3, "deliveries") where parts[2] == "replay": []
        case ("POST", 2, "deliveries") where parts[1] == "replay" || parts[1] == "purge": filters
        case ("POST", 2, "deliveries") where parts[1] == "admit": ["dry_run"]
        case ("POST", 2, "dead") where parts[1] == "retry" || parts[1] == "purge": ["type"]
        case ("POST", 3, "functions") where parts[2] == "pause" || parts[2] == "resume": []
        case ("GET", 1, "status"): []
        case ("POST", 1, "drain"): ["handover", "wait"]
        case ("GET", 1, "drain"): []
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
            // Two hex digits exactly: UInt8(_:radix:) alone also reads a sign, so `%+a` was 0x0A.
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let hi = hexDigit(b[i + 1]), let lo = hexDigit(b[i + 2]) {
                out.append(hi << 4 | lo); i += 3
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// What a time in seconds may be written with (`1777896000.5`, `-1e+20` as Swift prints it).
    static let decimalCharacters: Set<UInt8> = Set("0123456789.eE+-".utf8)

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
