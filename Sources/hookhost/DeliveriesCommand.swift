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
    hookhost deliveries list [--state S] [--type T] [--function F] [--since WHEN] [--until WHEN]
                             [--limit N] [--root ID] [--json]
    hookhost deliveries show [--json] [--] ID
    hookhost deliveries replay [--json] [--] ID      (or --id ID)
    hookhost deliveries replay --state S [--function F] [--type T] [--since WHEN] [--until WHEN]
                               [--dry-run] [--json]
    hookhost deliveries retry-dead [--type T] [--json]
    hookhost deliveries purge --dead | --state S [--function F] [--type T] [--since WHEN]
                              [--until WHEN] [--dry-run] [--json]

      --data DIR      the data directory (HOOKHOST_DATA, default ./data)
      --state S       received, fetching, fetched, running, retry_scheduled, done, dead, skipped,
                      handed_over; replay takes only dead, done, skipped; purge those and handed_over
      --type T        the type T and its family: `batch` matches batch and batch.*
      --function F    the function the delivery's last attempt ran (or was to run)
      --since WHEN    received at or after WHEN: a duration back from now (90s, 15m, 2h, 7d)
                      or a UTC time (2026-05-01, 2026-05-01T10:00:00Z)
      --until WHEN    received before WHEN (same forms)
      --limit N       only the newest N (still printed oldest first)
      --root ID       a whole pipeline: ID and every event emitted below it, each step indented
                      under the one that emitted it (by depth)
      --dry-run       replay, purge: list what would be acted on, and how many; change nothing
                      (with --json: the deliveries as `list --json` prints them)
      --json          the control API's JSON instead of text (show: summary, stdin, last, attempts)
    show prints the summary, every attempt kept (the latest 20: start, duration, outcome, exit
    code, error, stderr tail), the last output and the stdin document. Replaying a delivery
    that is still queued or running says so and exits 0: it runs anyway. Replay by filter
    queues every finished delivery the filters select again, each with a fresh attempt budget,
    in one durable write, and prints how many; they run as the function's limits allow. purge
    --dead is purge --state dead. list marks deliveries waiting for a paused function
    (WAITING paused; hookhost functions resume F). Unknown ID: exit 1; a bad filter: exit 2.
    In the ID's place anything but one of these options is the ID (show -h shows the delivery
    "-h"); `--` ends the options, so show -- --data takes "--data" as the ID.
    Works while `hookhost serve` runs (through DATA/control.sock) and while it is stopped.
    """

    /// The filters replay and purge take (and list, besides --limit and --root).
    static let filterOptions = ["--state", "--type", "--function", "--since", "--until"]

    static func run(_ args: [String]) throws -> Int32 {
        // After `show`/`replay` comes an id, and `-h` or `--x` are valid ones.
        let a = try Arguments(args, valued: ["--state", "--type", "--function", "--data", "--since", "--until", "--limit", "--root", "--id"],
                              switches: ["--json", "--dead", "--dry-run"],
                              takesAnyText: { $0.count == 1 && ($0[0] == "show" || $0[0] == "replay") })
        let sub = a.positional.first ?? "list"
        let dataSetting = a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data"
        // Empty would mean the working directory, as `serve` refuses it (HOOKHOST_DATA).
        guard !dataSetting.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        let data = FileSystem.absolute(dataSetting)
        let type = a.options["--type"]
        let json = a.flags.contains("--json")
        let dryRun = a.flags.contains("--dry-run")
        let now = SystemClock().now()
        try checkOptions(a, for: sub)
        let request: (method: String, path: String)
        var noun = "deliveries"
        switch sub {
        case "list":
            var q = try filterQuery(a, now: now)
            if let root = a.options["--root"] {
                guard !root.isEmpty else { throw UsageError("--root takes a delivery id (the first of a pipeline)") }
                q.append("root=" + ControlEndpoint.percentEncode(root))
            }
            if let limit = a.options["--limit"] {
                guard let n = Int(limit), n >= 0 else { throw UsageError("--limit takes a whole number ≥ 0, not \"\(limit)\"") }
                q.append("limit=\(n)")
            }
            request = ("GET", "/deliveries" + (q.isEmpty ? "" : "?" + q.joined(separator: "&")))
        case "show":
            guard a.positional.count >= 2 else { throw UsageError("deliveries show needs an ID") }
            request = ("GET", "/deliveries/\(ControlEndpoint.percentEncode(a.positional[1]))")
        case "replay":
            request = try replayRequest(a, now: now)
            if a.options["--state"] == "dead" { noun = "dead letters" }
        case "retry-dead":
            request = ("POST", "/dead/retry" + (type.map { "?type=" + ControlEndpoint.percentEncode($0) } ?? ""))
        case "purge":
            let state = a.options["--state"]
            if a.flags.contains("--dead") && state != nil && state != "dead" {
                throw UsageError("--dead means --state dead; give one of them")
            }
            guard a.flags.contains("--dead") || state != nil else {
                throw UsageError("purge needs --dead or --state S (dead, done or skipped): only finished deliveries can be purged")
            }
            try requireFinished(state ?? "dead", for: "purge", unfinished: "unfinished deliveries cannot be purged")
            var q = try filterQuery(a, now: now)
            if state == nil { q.insert("state=dead", at: 0) }
            if (state ?? "dead") == "dead" { noun = "dead letters" }
            // A dry run only reads: it lists what the purge would take, with the same filters.
            request = dryRun ? ("GET", "/deliveries?" + q.joined(separator: "&")) : ("POST", "/deliveries/purge?" + q.joined(separator: "&"))
        default:
            throw UsageError("unknown deliveries command \"\(sub)\" (list, show, replay, retry-dead, purge)")
        }
        try a.expectPositional(atMost: sub == "show" || sub == "replay" ? 2 : 1, "deliveries \(sub)")
        try checkDataDirectory(data)
        let functions = FunctionTable(directory: FileSystem.absolute(environment()["HOOKHOST_FUNCTIONS"].flatMap { $0.isEmpty ? nil : $0 } ?? "./Functions/bin"))
        let (status, body) = try perform(request.method, request.path, data: data, functions: functions)
        let named = a.options["--id"] ?? (a.positional.count >= 2 ? a.positional[1] : nil)
        if status == 404 && (sub == "show" || sub == "replay"), let named { throw RuntimeError("no delivery \(named)") }
        guard (200..<300).contains(status) else {
            let msg = (try? JSONParser.parse(body))?["error"]?.stringValue ?? String(decoding: body, as: UTF8.self)
            // The server refused the filters as the CLI should have: a usage error either way.
            if status == 400 { throw UsageError(msg) }
            throw RuntimeError(msg)
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
        } else {
            print(text(sub, body, dryRun: dryRun, noun: noun, byFilter: named == nil, now: now), terminator: "")
        }
        return 0
    }

    /// `replay ID` (or `--id ID`), or `replay --state S [filters]`: the one or the other.
    static func text(_ sub: String, _ body: [UInt8], dryRun: Bool, noun: String = "deliveries", byFilter: Bool = false, now: Double) -> String {
        let doc = try? JSONParser.parse(body)
        let counted = { (n: Int) in "\(n) " + (n == 1 ? (noun == "dead letters" ? "dead letter" : "delivery") : noun) }
        switch sub {
        case "list": return DeliveriesOutput.list(body, now: now)
        case "show": return DeliveriesOutput.show(body, now: now)
        case "replay" where dryRun, "purge" where dryRun:
            var items: [JSON] = []
            if case .array(let a)? = doc?["deliveries"] { items = a }
            let lines = items.map { d in
                "  " + [d["id"]?.stringValue ?? "?", d["type"]?.stringValue ?? "", d["state"]?.stringValue ?? "", d["function"]?.stringValue ?? "-"]
                    .joined(separator: "  ") + "\n"
            }.joined()
            let verb = sub == "replay" ? "replay" : "purge"
            return lines + "would \(verb) \(counted(items.count)) (dry run: nothing \(verb)d)\n"
        case "replay":
            if let m = doc?["message"]?.stringValue { return m + "\n" }
            guard byFilter else { return "replayed; it is queued with a fresh attempt budget\n" }
            let n = doc?["replayed"]?.intValue ?? 0
            return "replayed \(counted(n)); queued with a fresh attempt budget, they run as the function's limits allow\n"
        case "retry-dead":
            let n = doc?["replayed"]?.intValue ?? 0
            return "replayed \(n) dead \(n == 1 ? "letter" : "letters")\n"
        case "purge":
            let n = doc?["purged"]?.intValue ?? 0
            return "purged \(counted(n))\n"
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
                        functions: FunctionTable = FunctionTable(directory: "/nonexistent"), body: [UInt8] = []) throws -> (Int, [UInt8]) {
        let readOnly = method == "GET"
        switch ServerProbe.check(data, create: !readOnly) {
        case .stopped(let lockFD):
            defer { if lockFD >= 0 { close(lockFD) } }
            return try direct(method, path, data: data, readOnly: readOnly, functions: functions, body: body)
        case .unusable(let reason):
            throw RuntimeError(reason)
        case .running:
            break
        }
        var req = ClientRequest(method: method, url: "http://hookhost" + path)
        req.timeout = 60
        if !body.isEmpty { req.body = body; req.headers.append(("Content-Type", "application/json")) }
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
                       functions: FunctionTable = FunctionTable(directory: "/nonexistent"), body: [UInt8] = []) throws -> (Int, [UInt8]) {
        // Pausing writes DATA/paused.json and must not act on an unreadable one; the others only
        // mark what waits for a paused function, and a list must not fail for that.
        let changesPauses = path.hasPrefix("/functions/")
        let pauses: FunctionPauses
        do { pauses = try FunctionPauses.load(directory: data) } catch {
            if changesPauses { throw RuntimeError("\(error); fix it, or delete it to resume every function") }
            pauses = FunctionPauses()
        }
        let noSpool = access(data + "/spool.log", F_OK) != 0 && errno == ENOENT
        if (readOnly || changesPauses) && noSpool {
            // No server ever stored anything here; opening the spool would create its log.
            if path == "/status" || changesPauses {
                let admin = SpoolAdmin(spool: MemoryDeliveryStore(), functions: functions, pauses: pauses)
                let r = ControlEndpoint(admin: admin).answer(HTTPRequest(method: method, target: path))
                return (r.status, r.body)
            }
            return emptySpoolAnswer(path)
        }
        // A pause writes only its own file: the spool is read (how many deliveries wait), not written.
        let readOnly = readOnly || changesPauses
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
        let endpoint = ControlEndpoint(admin: SpoolAdmin(spool: spool, functions: functions, pauses: pauses))
        let r = endpoint.answer(HTTPRequest(method: method, target: path, body: body))
        return (r.status, r.body)
    }

    /// What the control endpoint answers for an empty spool: an empty list, or 404 for one id.
    static func emptySpoolAnswer(_ path: String) -> (Int, [UInt8]) {
        if path == "/deliveries" || path.hasPrefix("/deliveries?") { return (200, Array(#"{"deliveries":[]}"#.utf8)) }
        return (404, Array(#"{"error":"no such delivery"}"#.utf8))
    }
}
