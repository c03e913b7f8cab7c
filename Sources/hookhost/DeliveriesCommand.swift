import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost deliveries`: inspect and act on the spool, through the running server's control
/// socket when there is one, else directly (holding the data-directory lock).
enum DeliveriesCommand {
    static let help = """
    hookhost deliveries list [--state S] [--type T] [--since WHEN] [--limit N] [--root ID] [--json]
    hookhost deliveries show [--json] [--] ID
    hookhost deliveries replay [--json] [--] ID
    hookhost deliveries retry-dead [--type T] [--json]
    hookhost deliveries purge --dead [--type T] [--dry-run] [--json]

      --data DIR     the data directory (HOOKHOST_DATA, default ./data)
      --type T       the type T and its family: `batch` matches batch and batch.*
      --since WHEN   received at or after WHEN: a duration back from now (90s, 15m, 2h, 7d)
                     or a UTC time (2026-05-01, 2026-05-01T10:00:00Z)
      --limit N      only the newest N (still printed oldest first)
      --root ID      a whole pipeline: ID and every event emitted below it, each step indented
                     under the one that emitted it (by depth)
      --dry-run      purge: list what would be purged, and how many; purge nothing
                     (with --json: the dead letters as `list --json` prints them)
      --json         the control API's JSON instead of text (show: summary, stdin, last, attempts)
    show prints the summary, every attempt kept (the latest 20: start, duration, outcome, exit
    code, error, stderr tail), the last output and the stdin document. Replaying a delivery
    that is still queued or running says so and exits 0: it runs anyway.
    States: received, fetching, fetched, running, retry_scheduled, done, dead, skipped. Unknown ID: exit 1.
    In the ID's place anything but one of these options is the ID (show -h shows the delivery
    "-h"); `--` ends the options, so show -- --data takes "--data" as the ID.
    Works while `hookhost serve` runs (through DATA/control.sock) and while it is stopped.
    """

    static func run(_ args: [String]) throws -> Int32 {
        // After `show`/`replay` comes an id, and `-h` or `--x` are valid ones.
        let a = try Arguments(args, valued: ["--state", "--type", "--data", "--since", "--limit", "--root"], switches: ["--json", "--dead", "--dry-run"],
                              takesAnyText: { $0.count == 1 && ($0[0] == "show" || $0[0] == "replay") })
        let sub = a.positional.first ?? "list"
        let dataSetting = a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data"
        // Empty would mean the working directory, as `serve` refuses it (HOOKHOST_DATA).
        guard !dataSetting.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        let data = FileSystem.absolute(dataSetting)
        let type = a.options["--type"]
        let json = a.flags.contains("--json")
        let now = SystemClock().now()
        try checkOptions(a, for: sub)
        let request: (method: String, path: String)
        switch sub {
        case "list":
            if let s = a.options["--state"], DeliveryState(rawValue: s) == nil {
                throw UsageError("--state must be one of \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var q: [String] = []
            if let s = a.options["--state"] { q.append("state=" + ControlEndpoint.percentEncode(s)) }
            if let type { q.append("type=" + ControlEndpoint.percentEncode(type)) }
            if let since = a.options["--since"] { q.append("since=" + String(try TimeArgument.since(since, now: now))) }
            if let root = a.options["--root"] {
                guard !root.isEmpty else { throw UsageError("--root takes a delivery id (the first of a pipeline)") }
                q.append("root=" + ControlEndpoint.percentEncode(root))
            }
            if let limit = a.options["--limit"] {
                guard let n = Int(limit), n >= 0 else { throw UsageError("--limit takes a whole number ≥ 0, not \"\(limit)\"") }
                q.append("limit=\(n)")
            }
            request = ("GET", "/deliveries" + (q.isEmpty ? "" : "?" + q.joined(separator: "&")))
        case "show", "replay":
            guard a.positional.count >= 2 else { throw UsageError("deliveries \(sub) needs an ID") }
            let id = ControlEndpoint.percentEncode(a.positional[1])
            request = sub == "show" ? ("GET", "/deliveries/\(id)") : ("POST", "/deliveries/\(id)/replay")
        case "retry-dead":
            request = ("POST", "/dead/retry" + (type.map { "?type=" + ControlEndpoint.percentEncode($0) } ?? ""))
        case "purge":
            guard a.flags.contains("--dead") else { throw UsageError("purge needs --dead (only dead letters can be purged)") }
            // A dry run only reads: it lists the dead letters the purge would take.
            request = a.flags.contains("--dry-run")
                ? ("GET", "/deliveries?state=dead" + (type.map { "&type=" + ControlEndpoint.percentEncode($0) } ?? ""))
                : ("POST", "/dead/purge" + (type.map { "?type=" + ControlEndpoint.percentEncode($0) } ?? ""))
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
        if json {
            print(String(decoding: body, as: UTF8.self))
        } else {
            print(text(sub, body, dryRun: a.flags.contains("--dry-run"), now: now), terminator: "")
        }
        return 0
    }

    /// Options that only some subcommands take are refused elsewhere, not ignored.
    static func checkOptions(_ a: Arguments, for sub: String) throws(UsageError) {
        let only: [(String, Set<String>)] = [("--state", ["list"]), ("--since", ["list"]), ("--limit", ["list"]), ("--root", ["list"]),
                                             ("--type", ["list", "retry-dead", "purge"]), ("--dry-run", ["purge"]), ("--dead", ["purge"])]
        for (option, subs) in only where (a.options[option] != nil || a.flags.contains(option)) && !subs.contains(sub) {
            throw UsageError("\(option) is not an option of deliveries \(sub)")
        }
    }

    /// The answer for people.
    static func text(_ sub: String, _ body: [UInt8], dryRun: Bool, now: Double) -> String {
        let doc = try? JSONParser.parse(body)
        switch sub {
        case "list": return DeliveriesOutput.list(body, now: now)
        case "show": return DeliveriesOutput.show(body, now: now)
        case "replay":
            if let m = doc?["message"]?.stringValue { return m + "\n" }
            return "replayed; it is queued with a fresh attempt budget\n"
        case "retry-dead":
            let n = doc?["replayed"]?.intValue ?? 0
            return "replayed \(n) dead \(n == 1 ? "letter" : "letters")\n"
        case "purge" where dryRun:
            var items: [JSON] = []
            if case .array(let a)? = doc?["deliveries"] { items = a }
            let lines = items.map { "  " + ($0["id"]?.stringValue ?? "?") + "  " + ($0["type"]?.stringValue ?? "") + "\n" }.joined()
            return lines + "would purge \(items.count) dead \(items.count == 1 ? "letter" : "letters") (dry run: nothing purged)\n"
        case "purge":
            let n = doc?["purged"]?.intValue ?? 0
            return "purged \(n) dead \(n == 1 ? "letter" : "letters")\n"
        default: return String(decoding: body, as: UTF8.self) + "\n"
        }
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
    /// `functions`: the table the stopped-host path reports on (`hookhost status`).
    static func perform(_ method: String, _ path: String, data: String,
                        functions: FunctionTable = FunctionTable(directory: "/nonexistent")) throws -> (Int, [UInt8]) {
        let readOnly = method == "GET"
        switch ServerProbe.check(data, create: !readOnly) {
        case .stopped(let lockFD):
            defer { if lockFD >= 0 { close(lockFD) } }
            return try direct(method, path, data: data, readOnly: readOnly, functions: functions)
        case .unusable(let reason):
            throw RuntimeError(reason)
        case .running:
            break
        }
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

    static func direct(_ method: String, _ path: String, data: String, readOnly: Bool,
                       functions: FunctionTable = FunctionTable(directory: "/nonexistent")) throws -> (Int, [UInt8]) {
        if readOnly && access(data + "/spool.log", F_OK) != 0 && errno == ENOENT {
            // No server ever stored anything here; opening the spool would create its log.
            if path == "/status" {
                let r = ControlEndpoint(admin: SpoolAdmin(spool: MemoryDeliveryStore(), functions: functions)).answer(HTTPRequest(method: method, target: path))
                return (r.status, r.body)
            }
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
        let endpoint = ControlEndpoint(admin: SpoolAdmin(spool: spool, functions: functions))
        let r = endpoint.answer(HTTPRequest(method: method, target: path))
        return (r.status, r.body)
    }

    /// What the control endpoint answers for an empty spool: an empty list, or 404 for one id.
    static func emptySpoolAnswer(_ path: String) -> (Int, [UInt8]) {
        if path == "/deliveries" || path.hasPrefix("/deliveries?") { return (200, Array(#"{"deliveries":[]}"#.utf8)) }
        return (404, Array(#"{"error":"no such delivery"}"#.utf8))
    }
}
