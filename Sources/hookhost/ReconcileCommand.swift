import Glibc
import HookhostKit
import HookSupport
import HookSpool
import HookFetch

/// `hookhost reconcile`: the jobs that finished while their webhook never arrived (a host down
/// longer than Gemini's 24 h of retries, a lost disk, a machine Gemini cannot reach), found by
/// asking the API and the spool, and with `--apply` admitted as synthesized events.
enum ReconcileCommand {
    static let help = """
    hookhost reconcile [--since 48h] [--apply] [--json] [--data DIR]
    hookhost reconcile --operation NAME[,NAME…] | --interaction ID[,ID…] [--apply] [--json] [--data DIR]

    Lists the project's batches (GET /{v}/batches, every page) and reports each that finished
    within --since (by its endTime) whose completion event the spool has not seen: the job, its
    state, when it finished, "no delivery received". Matched by the job and the event type, not
    by webhook-id. With --apply, admits for each the event Gemini would have sent (same body
    shape; delivery.verified_by "reconcile"; id reconcile_<job>_<state>_<hash>, the same on every
    run and replica), downloaded and run like any delivery. A second --apply, or a real delivery
    arriving later for the same job and type, adds nothing (the real one is answered 200
    duplicate). Veo operations and interactions cannot be listed: name them with --operation
    (models/…/operations/ID) or --interaction ID (then no batches are listed).
      --since D       how far back: 30m, 48h, 2d (default 48h, at most 365d)
      --apply         admit the missing events (else only report)
      --data DIR      the data directory (HOOKHOST_DATA, default ./data); through the running
                      host's control socket, or the spool directly while it is stopped
      --json          the control API's answer ({admitted, seen, failed}) with the jobs listed
    Uses GEMINI_API_KEY, HOOKHOST_API_BASE and HOOKHOST_API_VERSION (as hookhost serve). States:
    SUCCEEDED → batch.succeeded (output_file_uri from the responses file), FAILED → batch.failed,
    EXPIRED → batch.expired; CANCELLED gets no event (Gemini offers no batch.cancelled). API
    errors: exit 1 with Gemini's status and message.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--since", "--data", "--operation", "--interaction"], switches: ["--apply", "--json"])
        try a.expectPositional(atMost: 0, "reconcile")
        let now = SystemClock().now()
        let window: Double
        switch ReconcileWindow.parse(a.options["--since"] ?? "48h") {
        case .success(let w): window = w
        case .failure(let e): throw UsageError("--since: \(e.message)")
        }
        let operations = list(a.options["--operation"]), interactions = list(a.options["--interaction"])
        if a.options["--since"] != nil && !(operations.isEmpty && interactions.isEmpty) {
            throw UsageError("--since is for listed batches; --operation and --interaction name their jobs")
        }
        let dataSetting = a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data"
        guard !dataSetting.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        let data = FileSystem.absolute(dataSetting)
        try DeliveriesCommand.checkDataDirectory(data)
        let reconciler = Reconciler(api: try api())

        // 1. What the API says.
        var jobs: [ReconcileEvent] = []
        var listed = 0
        do throws(GeminiAPIError) {
            if operations.isEmpty && interactions.isEmpty {
                (listed, jobs) = try reconciler.batches(now: now, window: window)
            } else {
                for name in operations {
                    jobs.append(try reconciler.operation(name) ?? ReconcileEvent(job: name, state: "unknown (the API's answer has no name)"))
                }
                for id in interactions {
                    jobs.append(try reconciler.interaction(id) ?? ReconcileEvent(job: id, state: "unknown (the API's answer has no id)"))
                }
                listed = jobs.count
            }
        } catch {
            throw RuntimeError(error.description)
        }
        // 2. What the spool has: one request, answered for every event at once.
        let due = jobs.filter { $0.type != nil }
        let events = due.compactMap(SynthesizedEvent.init)
        var request = JSONWriter()
        request.beginObject(); request.key("events"); request.beginArray()
        for e in events {
            request.beginObject(); request.field("id", e.id); request.field("body", String(decoding: e.body, as: UTF8.self)); request.endObject()
        }
        request.endArray(); request.endObject()
        let apply = a.flags.contains("--apply")
        let (status, answer) = try DeliveriesCommand.perform("POST", "/deliveries/admit" + (apply ? "" : "?dry_run=1"), data: data, body: request.bytes)
        guard (200..<300).contains(status), let doc = try? JSONParser.parse(answer) else {
            let msg = (try? JSONParser.parse(answer))?["error"]?.stringValue ?? String(decoding: answer, as: UTF8.self)
            throw RuntimeError("the spool refused the events: \(msg)")
        }
        if a.flags.contains("--json") {
            print(String(decoding: answer, as: UTF8.self))
        } else {
            print(report(jobs: jobs, listed: listed, doc: doc, apply: apply, window: operations.isEmpty && interactions.isEmpty ? window : nil), terminator: "")
        }
        let failed = doc["failed"].flatMap { if case .array(let f) = $0 { f.count } else { nil } } ?? 0
        return failed > 0 ? 1 : 0
    }

    /// The API client from the same settings as `hookhost serve` (environment only: a key in a
    /// flag would show in /proc/<pid>/cmdline).
    static func api() throws -> GeminiAPI {
        var c = HostConfig()
        let env = environment()
        for name in ["HOOKHOST_API_BASE", "HOOKHOST_API_VERSION", "GEMINI_API_KEY"] {
            guard let v = env[name], let setting = HostConfig.table.settings.first(where: { $0.name == name }) else { continue }
            do { try setting.apply(v, to: &c) } catch { throw UsageError(error.description) }
        }
        do { return try c.geminiAPI() } catch { throw RuntimeError(error.description) }
    }

    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
    }

    /// One line per job with no delivery (and, with --apply, what became of it), then a summary.
    static func report(jobs: [ReconcileEvent], listed: Int, doc: JSON, apply: Bool, window: Double?) -> String {
        var outcome: [String: String] = [:]  // id → what happened
        for (name, text) in [("admitted", apply ? "recovered as" : "no delivery received"), ("seen", "delivered"), ("failed", "not stored:")] {
            guard case .array(let items)? = doc[name] else { continue }
            for item in items {
                guard let id = item["id"]?.stringValue else { continue }
                outcome[id] = name == "failed" ? "\(text) \(item["error"]?.stringValue ?? "")" : name == "admitted" && apply ? "\(text) \(id)" : text
            }
        }
        var rows: [[String]] = []
        var missing = 0
        for job in jobs {
            let finished = job.finishedAt.map(formatTimestamp) ?? "-"
            guard let type = job.type, let id = job.id else {
                if window == nil { rows.append([job.job, job.state, finished, "no event due (\(job.state))"]) }
                continue
            }
            guard let what = outcome[id], what != "delivered" else {
                if window == nil { rows.append([job.job, job.state, finished, "delivered (\(type))"]) }
                continue
            }
            missing += 1
            rows.append([job.job, job.state, finished, what])
        }
        var out = ""
        if !rows.isEmpty {
            let header = ["JOB", "STATE", "FINISHED", ""]
            let widths = (0..<3).map { c in (rows + [header]).map { $0[c].count }.max() ?? 0 }
            for r in [header] + rows {
                var line = (0..<3).map { r[$0].padding(widths[$0]) }.joined(separator: "  ") + "  " + r[3]
                while line.hasSuffix(" ") { line.removeLast() }
                out += line + "\n"
            }
        }
        let scope = window.map { "\(listed) \(listed == 1 ? "batch" : "batches") listed, \(jobs.count) finished in the last \(span($0))" }
            ?? "\(jobs.count) named \(jobs.count == 1 ? "job" : "jobs")"
        let verb = apply ? "recovered" : "with no delivery received"
        out += "\(scope); \(missing) \(verb)"
        if !apply && missing > 0 { out += " (hookhost reconcile --apply admits their events)" }
        return out + "\n"
    }

    static func span(_ seconds: Double) -> String {
        if seconds.truncatingRemainder(dividingBy: 86400) == 0 && seconds > 172_800 { return "\(Int(seconds / 86400))d" }
        if seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        return "\(SettingRange.format(seconds))s"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
