import Glibc
import HookhostKit

/// `hookhost deliveries`: inspect and act on the spool, through the running server's control
/// socket when there is one, else directly (holding the data-directory lock).
enum DeliveriesCommand {
    static let help = """
    hookhost deliveries list [--state S] [--type T] [--json]
    hookhost deliveries show ID
    hookhost deliveries replay ID
    hookhost deliveries retry-dead [--type T]
    hookhost deliveries purge --dead [--type T]

      --data DIR   the data directory (HOOKHOST_DATA, default ./data)
    States: received, running, retry_scheduled, done, dead, skipped. Unknown ID: exit 1.
    Works while `hookhost serve` runs (through DATA/control.sock) and while it is stopped.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--state", "--type", "--data"], switches: ["--json", "--dead"])
        let sub = a.positional.first ?? "list"
        let data = FileSystem.absolute(a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data")
        let type = a.options["--type"]
        let request: (method: String, path: String)
        switch sub {
        case "list":
            if let s = a.options["--state"], DeliveryState(rawValue: s) == nil {
                throw UsageError("--state must be one of \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var q: [String] = []
            if let s = a.options["--state"] { q.append("state=" + ControlEndpoint.percentEncode(s)) }
            if let type { q.append("type=" + ControlEndpoint.percentEncode(type)) }
            request = ("GET", "/deliveries" + (q.isEmpty ? "" : "?" + q.joined(separator: "&")))
        case "show", "replay":
            guard a.positional.count == 2 else { throw UsageError("deliveries \(sub) needs one ID") }
            let id = ControlEndpoint.percentEncode(a.positional[1])
            request = sub == "show" ? ("GET", "/deliveries/\(id)") : ("POST", "/deliveries/\(id)/replay")
        case "retry-dead":
            request = ("POST", "/dead/retry" + (type.map { "?type=" + ControlEndpoint.percentEncode($0) } ?? ""))
        case "purge":
            guard a.flags.contains("--dead") else { throw UsageError("purge needs --dead (only dead letters can be purged)") }
            request = ("POST", "/dead/purge" + (type.map { "?type=" + ControlEndpoint.percentEncode($0) } ?? ""))
        default:
            throw UsageError("unknown deliveries command \"\(sub)\" (list, show, replay, retry-dead, purge)")
        }
        let (status, body) = try perform(request.method, request.path, data: data)
        if status == 404 && (sub == "show" || sub == "replay") { throw RuntimeError("no delivery \(a.positional[1])") }
        guard (200..<300).contains(status) else {
            let msg = (try? JSONParser.parse(body))?["error"]?.stringValue ?? String(decoding: body, as: UTF8.self)
            throw RuntimeError(msg)
        }
        if sub == "list" && !a.flags.contains("--json") { printTable(body) } else { print(String(decoding: body, as: UTF8.self)) }
        return 0
    }

    /// Sends the request to the running server, or serves it from the spool directly.
    static func perform(_ method: String, _ path: String, data: String) throws -> (Int, [UInt8]) {
        let sock = data + "/control.sock"
        if let lock = DataLock.tryAcquire(data) {
            defer { close(lock.fd) }
            return try direct(method, path, data: data)
        }
        HTTPClient.globalInit()
        var req = ClientRequest(method: method, url: "http://hookhost" + path)
        req.unixSocket = sock
        req.timeout = 60
        do {
            let r = try HTTPClient.perform(req)
            return (r.status, r.body)
        } catch {
            throw RuntimeError("a server holds \(data) but its control socket does not answer: \(error)")
        }
    }

    static func direct(_ method: String, _ path: String, data: String) throws -> (Int, [UInt8]) {
        var st = stat()
        guard stat(data, &st) == 0 else { throw RuntimeError("no data directory at \(data) (set --data or HOOKHOST_DATA)") }
        let logger = Logger(level: .warn)
        let spool: Spool
        do { spool = try Spool(config: SpoolConfig(directory: data), logger: logger) } catch {
            throw RuntimeError("cannot open the spool: \(error)")
        }
        spool.startWriter()
        defer { spool.stopWriter(); usleep(50_000) }
        let endpoint = ControlEndpoint(admin: SpoolAdmin(spool: spool, functions: FunctionTable(directory: "/nonexistent")))
        let result = ResponseBox()
        endpoint.respond(to: HTTPRequest(method: method, target: path)) { result.set($0) }
        let r = result.get()
        return (r.status, r.body)
    }

    static func printTable(_ body: [UInt8]) {
        guard case .array(let items)? = (try? JSONParser.parse(body))?["deliveries"] else { return }
        print("ID".padded(30) + " " + "TYPE".padded(24) + " " + "STATE".padded(16) + " ATT  RECEIVED                  ERROR")
        for d in items {
            let s = { (k: String) in d[k]?.stringValue ?? "" }
            print(s("id").padded(30) + " " + s("type").padded(24) + " " + s("state").padded(16) + " "
                  + String(d["attempt"]?.intValue ?? 0).padded(4) + " " + s("received_at").padded(25) + " " + String(s("error").prefix(60)))
        }
        print("\(items.count) deliveries")
    }
}

/// Holds the control endpoint's synchronous answer.
private final class ResponseBox: @unchecked Sendable {  // safe: set and read on the same thread (direct mode answers inline)
    private var value: HTTPResponse?
    func set(_ r: HTTPResponse) { value = r }
    func get() -> HTTPResponse { value ?? .error(500, "no answer") }
}
