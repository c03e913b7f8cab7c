import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost functions`: the resolved function table.
enum FunctionsCommand {
    static let help = """
    hookhost functions [--functions DIR] [--data DIR] [--json]
    hookhost functions route --type T [--metadata JSON] [--functions DIR] [--json]
    hookhost functions pause NAME | resume NAME [--data DIR] [--functions DIR] [--json]

    Lists the handler executables in the functions directory (HOOKHOST_FUNCTIONS, default
    ./Functions/bin) with their sidecar settings, flow control (concurrency, rate) and routes
    (on, match), and how common Gemini event types resolve. Also names files that will never
    run: a program without execute permission (NOT EXECUTABLE), one whose name kept an
    extension, e.g. video.generated.py (MISNAMED: did you mean video.generated?), and routes
    that can tie for a delivery, which then fails naming both (ROUTE CONFLICT).

    route: which function a delivery of type T with user_metadata JSON (an object) would run,
    and why; or the conflict, or "skipped: no function". Exit 0 when a function runs, 1 when
    none does (skipped, a conflict, an unusable sidecar).

    pause: deliveries for NAME are still accepted, stored and acknowledged, but none of its runs
    starts (no attempt spent, no worker held) until `resume NAME`; a run under way finishes.
    Kept in DATA/paused.json (--data, HOOKHOST_DATA, default ./data) across restarts; the list
    above says PAUSED, `deliveries list` marks what waits (WAITING paused). Through the running
    host's control socket, or directly with it stopped. Pausing twice, or resuming a function
    that is not paused, is fine (it says so). NAME must be a function in the directory (the
    running host's, else --functions); exit 1 when it is not.
    """

    static let knownTypes = EventType.gemini

    static func run(_ args: [String]) throws -> Int32 {
        // After `pause`/`resume` comes a function's name.
        let a = try Arguments(args, valued: ["--functions", "--type", "--metadata", "--data"], switches: ["--json"])
        let action = a.positional.first
        let routing = action == "route", pausing = action == "pause" || action == "resume"
        if let action, !routing && !pausing { throw UsageError("unknown functions command \"\(action)\" (route, pause, resume)") }
        try a.expectPositional(atMost: routing ? 1 : pausing ? 2 : 0, "functions")
        if !routing, let option = ["--type", "--metadata"].first(where: { a.options[$0] != nil }) {
            throw UsageError("functions: \(option) belongs to `hookhost functions route`")
        }
        if routing, a.options["--data"] != nil { throw UsageError("functions route: --data is not one of its options") }
        let dir = a.options["--functions"] ?? environment()["HOOKHOST_FUNCTIONS"] ?? "./Functions/bin"
        // Empty would mean the working directory, as `serve` refuses it.
        guard !dir.isEmpty else { throw ConfigError(setting: "HOOKHOST_FUNCTIONS", message: "is empty; give the functions directory") }
        let table = FunctionTable(directory: FileSystem.absolute(dir))
        let dataSetting = a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data"
        guard !dataSetting.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        let data = FileSystem.absolute(dataSetting)
        if pausing {
            guard a.positional.count == 2, !a.positional[1].isEmpty else { throw UsageError("functions \(action!) needs the function's NAME") }
            return try pauseOrResume(action!, a.positional[1], table: table, data: data, json: a.flags.contains("--json"))
        }
        guard table.exists else { throw ConfigError(setting: "HOOKHOST_FUNCTIONS", message: "functions directory \(dir) does not exist") }
        if routing {
            return try route(table: table, typeOption: a.options["--type"], metadataOption: a.options["--metadata"], json: a.flags.contains("--json"))
        }
        // Paused functions, as the data directory keeps them (read as it is: no lock, no spool).
        var paused = PauseList()
        var pauseProblem: String?
        do { paused = try FunctionPauses.read(directory: data) } catch { pauseProblem = error.description }
        // A misnamed file (`video.generated.py`) is a "function" only for a type nobody sends:
        // listed as the problem it is, not among the functions.
        let misnamed = table.misnamed()
        let all = table.all().filter { f in !misnamed.contains { $0.file == f.name } }
        let routes = table.directoryRoutes()
        let conflicts = routes.table.conflicts()
        if a.flags.contains("--json") {
            var w = JSONWriter()
            w.beginObject()
            w.field("directory", table.directory)
            w.key("functions"); w.beginArray()
            let host = hostDefaults()
            for f in all { FunctionReport.write(f, host: host, conflicts: conflicts, paused: paused, into: &w) }
            w.endArray()
            w.key("paused"); w.beginArray()
            for name in paused.names {
                w.beginObject(); w.field("function", name); w.field("since", formatTimestamp(paused.since[name]!)); w.endObject()
            }
            w.endArray()
            w.field("pause_file_error", optional: pauseProblem)
            w.key("route_conflicts"); w.beginArray(); for c in conflicts { FunctionReport.writeConflict(c, into: &w) }; w.endArray()
            w.key("not_executable"); w.beginArray(); for n in table.notExecutable() { w.string(n) }; w.endArray()
            w.key("misnamed"); w.beginArray()
            for m in misnamed {
                w.beginObject(); w.field("file", m.file); w.field("did_you_mean", m.meant); w.field("problem", m.problem); w.endObject()
            }
            w.endArray()
            w.key("routes"); w.beginObject()
            for t in knownTypes { w.field(t, optional: routes.decide(type: EventType.canonical(t), userMetadata: nil).function?.name) }
            w.endObject()
            w.endObject()
            print(w.string)
            return 0
        }
        print("functions in \(table.directory):")
        if all.isEmpty { print("  (none: every delivery will be acknowledged and skipped)") }
        let host = hostDefaults()
        for f in all {
            let e = EffectiveSettings(f.settings, host: host)
            var s = "  \(f.name.padded(28)) timeout=\(SettingRange.format(e.timeout))s max_concurrency=\(e.maxConcurrency)"
            s += " max_attempts=\(e.maxAttempts) retry_later_for=\(SettingRange.format(e.retryLaterFor))s fetch=\(e.fetch)"
            if let c = f.settings.concurrency { s += " concurrency=\(c.summary)" }
            if let r = f.settings.rate { s += " rate=\(r.summary)" }
            if !e.fromSidecar.isEmpty { s += " (sidecar: \(e.fromSidecar.joined(separator: ",")))" }
            if !f.settings.env.isEmpty { s += " env=" + f.settings.env.map(\.0).joined(separator: ",") }
            if !f.settings.passEnv.isEmpty { s += " pass_env=" + f.settings.passEnv.joined(separator: ",") }
            s += routeSummary(f.settings.route)
            if !f.settings.unknownKeys.isEmpty { s += "  SIDECAR WARNING: unknown keys " + f.settings.unknownKeys.joined(separator: ", ") }
            if let e = f.sidecarError { s += "  SIDECAR ERROR (its deliveries fail until fixed): \(e)" }
            for c in conflicts where c.functions.contains(f.name) { s += "  ROUTE CONFLICT: \(c.problem)" }
            if let since = paused.since[f.name] { s += "  PAUSED since \(formatTimestamp(since)) (hookhost functions resume \(f.name))" }
            print(s)
        }
        for name in paused.names where !all.contains(where: { $0.name == name }) {
            print("  \(name.padded(28)) PAUSED, not in the directory now (hookhost functions resume \(name) clears it)")
        }
        if let pauseProblem { print("  PAUSE FILE ERROR: \(pauseProblem)") }
        for name in table.notExecutable() {
            print("  \(name.padded(28)) NOT EXECUTABLE (chmod +x \(name)): its deliveries are skipped or go to the next match")
        }
        for m in misnamed {
            print("  \(m.file.padded(28)) MISNAMED: \(m.problem)")
        }
        print("\nroutes: (no user_metadata; with it: hookhost functions route --type T --metadata JSON)")
        for t in knownTypes {
            let target: String
            switch routes.decide(type: EventType.canonical(t), userMetadata: nil) {
            case .run(let f, _): target = f.name
            case .conflict(let names, _): target = "ROUTE CONFLICT: " + names.joined(separator: ", ")
            case .noFunction: target = "(skipped)"
            }
            print("  \(t.padded(28)) → \(target)")
        }
        return 0
    }

    /// The host settings a sidecar falls back to, from the environment as `serve` would read it;
    /// built-in defaults when the environment holds something `serve` would refuse (said once).
    static func hostDefaults() -> HostConfig {
        do { return try HostConfig.load(environment: environment(), arguments: []) } catch {
            CLI.fail("note: \(error.setting): \(error.message); showing built-in defaults")
            return HostConfig()
        }
    }
}
