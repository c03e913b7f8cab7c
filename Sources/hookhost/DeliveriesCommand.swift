import Glibc
import HookhostKit

/// `hookhost deliveries`: inspect and act on the spool, through the running server's control
/// socket when there is one, else directly (holding the data-directory lock).
enum DeliveriesCommand {
    static let help = """
    hookhost deliveries list [--state S] [--type T] [--json]
    hookhost deliveries show [--] ID
    hookhost deliveries replay [--] ID
    hookhost deliveries retry-dead [--type T]
    hookhost deliveries purge --dead [--type T]

      --data DIR   the data directory (HOOKHOST_DATA, default ./data)
    States: received, running, retry_scheduled, done, dead, skipped. Unknown ID: exit 1.
    In the ID's place anything but one of these options is the ID (show -h shows the delivery
    "-h"); `--` ends the options, so show -- --data takes "--data" as the ID.
    Works while `hookhost serve` runs (through DATA/control.sock) and while it is stopped.
    """

    static func run(_ args: [String]) throws -> Int32 {
        // After `show`/`replay` comes an id, and `-h` or `--x` are valid ones.
        let a = try Arguments(args, valued: ["--state", "--type", "--data"], switches: ["--json", "--dead"],
                              takesAnyText: { $0.count == 1 && ($0[0] == "show" || $0[0] == "replay") })
        let sub = a.positional.first ?? "list"
        let dataSetting = a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data"
        // Empty would mean the working directory, as `serve` refuses it (HOOKHOST_DATA).
        guard !dataSetting.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        let data = FileSystem.absolute(dataSetting)
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
            guard a.positional.count >= 2 else { throw UsageError("deliveries \(sub) needs an ID") }
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
        try a.expectPositional(atMost: sub == "show" || sub == "replay" ? 2 : 1, "deliveries \(sub)")
        try checkDataDirectory(data)
        let (status, body) = try perform(request.method, request.path, data: data)
        if status == 404 && (sub == "show" || sub == "replay") { throw RuntimeError("no delivery \(a.positional[1])") }
        guard (200..<300).contains(status) else {
            let msg = (try? JSONParser.parse(body))?["error"]?.stringValue ?? String(decoding: body, as: UTF8.self)
            throw RuntimeError(msg)
        }
        if sub == "list" && !a.flags.contains("--json") { printTable(body) } else { print(String(decoding: body, as: UTF8.self)) }
        return 0
    }

    /// A missing data directory is said to be missing: the lock probe below cannot tell it from
    /// one a server holds, and nothing here may create it.
    static func checkDataDirectory(_ data: String) throws(RuntimeError) {
        var st = stat()
        guard stat(data, &st) == 0 else {
            throw RuntimeError("no data directory at \(data): \(String(cString: strerror(errno))) (set --data or HOOKHOST_DATA)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw RuntimeError("\(data) is not a directory (set --data or HOOKHOST_DATA)") }
    }

    /// Sends the request to the running server, or serves it from the spool directly. A GET
    /// creates nothing: no lock file, no spool log.
    static func perform(_ method: String, _ path: String, data: String) throws -> (Int, [UInt8]) {
        let readOnly = method == "GET"
        switch ServerProbe.check(data, create: !readOnly) {
        case .stopped(let lockFD):
            defer { if lockFD >= 0 { close(lockFD) } }
            return try direct(method, path, data: data, readOnly: readOnly)
        case .unusable(let reason):
            throw RuntimeError(reason)
        case .running:
            break
        }
        HTTPClient.globalInit()
        var req = ClientRequest(method: method, url: "http://hookhost" + path)
        req.timeout = 60
        do {
            // Connected through a short alias of the directory when DATA/control.sock is too long for sun_path.
            let r = try ControlSocketPath.withShortPath(data) { sock in
                req.unixSocket = sock
                return try HTTPClient.perform(req)
            }
            return (r.status, r.body)
        } catch {
            throw RuntimeError("a server holds \(data) but its control socket does not answer: \(error)")
        }
    }

    static func direct(_ method: String, _ path: String, data: String, readOnly: Bool) throws -> (Int, [UInt8]) {
        if readOnly && access(data + "/spool.log", F_OK) != 0 && errno == ENOENT {
            // No server ever stored anything here; opening the spool would create its log.
            return emptySpoolAnswer(path)
        }
        let logger = Logger(level: .warn)
        var config = SpoolConfig(directory: data)
        config.readOnly = readOnly  // a GET only reads: it works on a read-only mount and writes nothing
        let spool: Spool
        do { spool = try Spool(config: config, logger: logger) } catch {
            throw RuntimeError("cannot open the spool: \(error)")
        }
        // Reads need no writer thread; actions do (their records are appended through it).
        if !readOnly { spool.startWriter() }
        defer { if !readOnly { spool.stopWriter() } }  // returns once the writer flushed and exited
        let endpoint = ControlEndpoint(admin: SpoolAdmin(spool: spool, functions: FunctionTable(directory: "/nonexistent")))
        let r = endpoint.answer(HTTPRequest(method: method, target: path))
        return (r.status, r.body)
    }

    /// What the control endpoint answers for an empty spool: an empty list, or 404 for one id.
    static func emptySpoolAnswer(_ path: String) -> (Int, [UInt8]) {
        if path == "/deliveries" || path.hasPrefix("/deliveries?") { return (200, Array(#"{"deliveries":[]}"#.utf8)) }
        return (404, Array(#"{"error":"no such delivery"}"#.utf8))
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
