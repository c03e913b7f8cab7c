import Glibc
import Synchronization
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost run`: the author's local loop. One run of the function the host would pick for an
/// event, with the stdin, environment, scratch directory, limits and exit-code rules of a real
/// attempt (`LocalRun`, built on the worker's own steps) — no host, no signing, no spool.
enum RunCommand {
    static let help = """
    hookhost run [TYPE] (--event FILE | --data JSON) [--result FILE [--result-uri URI] [--content-type T]]
                 [--functions DIR | --function PATH] [--id ID] [--attempt N]

    Runs the function for an event once, here, as the host would run it for that delivery: the
    same stdin document, environment (PATH, HOME, LANG, HOOKHOST_EVENT_TYPE, HOOKHOST_DELIVERY_ID,
    HOOKHOST_ATTEMPT, HOOKHOST_WORK_DIR, HOOKHOST_RESULT_PATH, the sidecar's env and pass_env),
    private scratch directory as the working directory, timeout (the sidecar's, else
    HOOKHOST_FUNCTION_TIMEOUT) and process-group teardown (what it detaches is killed when it
    ends), and the same reading of its exit code.
    No host, no signature, no spool, no retries; it runs as you (HOOKHOST_FUNCTION_USER and
    HOOKHOST_FUNCTION_UIDS are not applied).

      TYPE              the event type; optional with --event (taken from the body's "type")
      --event FILE      the webhook body as it would arrive ("-" reads stdin); refused the way the
                        host answers 400/413 (not a JSON object, no string "type", too large)
      --data JSON       instead: the event's "data" object; the envelope (type, version,
                        timestamp) is added as by hookhost send
      --result FILE     hand FILE over as the downloaded result (stdin "result" with its size and
                        SHA-256, HOOKHOST_RESULT_PATH); without it "result" is null
      --result-uri URI  result.uri (default: the reference the event names, as the host reports
                        it, else the file's name)
      --content-type T  result.content_type (default: null)
      --functions DIR   where to find the function (default HOOKHOST_FUNCTIONS, else ./Functions/bin):
                        the exact type, then its family, then _default, as the host picks
      --function PATH   run this executable instead (its sidecar: PATH.json)
      --id ID           delivery.id (default: a fresh local_… id; at most 256 bytes, no control
                        characters, as the host admits a webhook-id)
      --attempt N       delivery.attempt (default 1)

    Prints the function chosen and why, the outcome, exit code, duration, stdout (indented when
    it is JSON) and the end of stderr. Exit status: 0 when the outcome is ok, 1 otherwise
    (retry, dead, failed, timeout, or no function), 2 for a usage or configuration error.
    Ctrl-C stops the function's process group (SIGTERM; a second Ctrl-C, SIGKILL).
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--event", "--data", "--result", "--result-uri", "--content-type", "--functions",
                                             "--function", "--id", "--attempt"])
        try a.expectPositional(atMost: 1, "run")
        let host = FunctionsCommand.hostDefaults()
        let (type, body) = try event(a, maxBody: host.http.limits.maxBodyBytes)
        let id = a.options["--id"] ?? "local_" + hexString(Crypto.randomBytes(8))
        guard !id.isEmpty else { throw UsageError("--id must not be empty") }
        // The host answers 400 to such a webhook-id (and its HTTP parser to a control character),
        // so a function is never handed one; testing with it would prove nothing.
        guard id.utf8.count <= DeliveryEndpoint.maxIDLength else {
            throw UsageError("--id is \(id.utf8.count) bytes; the host refuses a webhook-id longer than \(DeliveryEndpoint.maxIDLength) bytes")
        }
        guard id.utf8.allSatisfy({ ($0 >= 0x20 || $0 == 0x09) && $0 != 0x7F }) else {
            throw UsageError("--id contains a control character; the host never receives such a webhook-id")
        }
        var attempt = 1
        if let text = a.options["--attempt"] {
            guard let n = Int(text), n >= 1, n <= 1_000_000 else { throw UsageError("--attempt must be a whole number from 1 to 1000000, got \"\(text)\"") }
            attempt = n
        }
        let choice = try function(for: type, a)
        let f: ResolvedFunction
        switch choice {
        case .found(let found, _, _): f = found
        case .none(let report): print(report); return 1
        }
        var notes: [String] = []
        if case .found(_, _, let n) = choice { notes = n }
        let parsed = (try? JSONParser.parse(body)) ?? .null
        let named = ResultLocator.reference(type: type, event: parsed)
        let fetch = EffectiveSettings(f.settings, host: host).fetch
        var result: FetchedResult?
        if let path = a.options["--result"] {
            result = try resultFile(path, uri: a.options["--result-uri"] ?? named.map(reported) ?? lastComponent(path),
                                    contentType: a.options["--content-type"])
            if !fetch { notes.append("the sidecar says \"fetch\": false: the host would give this function \"result\": null") }
            if named == nil { notes.append("a \(type) event names no result: the host would give \"result\": null") }
        } else {
            if a.options["--result-uri"] != nil || a.options["--content-type"] != nil { throw UsageError("--result-uri and --content-type need --result FILE") }
            if let named, fetch {
                notes.append("the event names \(reported(named)): the host would download it first and hand it over as \"result\"; "
                             + "here \"result\" is null (pass --result FILE, or serve a directory with hookhost demo --api-only DIR)")
            }
        }
        for u in f.settings.unknownKeys { notes.append("sidecar \(f.name).json: unknown key \(u) (ignored)") }

        let scratch = try makeScratchRoot()
        defer { FileSystem.removeTree(scratch) }
        let config = host.dispatcherConfig(dataDir: scratch, baseEnvironment: Host.functionBaseEnvironment(),
                                           hostEnvironment: FileSystem.environment())
        let delivery = LocalRun.Delivery(id: id, attempt: attempt, receivedAt: SystemClock().now(), type: type, body: body, result: result)
        print(header(choice, f, delivery, host: host).trimmingNewlines)
        for n in notes { print("note: " + n) }
        print("")
        RunCommand.takeInterrupts()
        // As in the host: orphans the function detaches (setsid, a double fork) are re-parented
        // to us and killed once it has ended, instead of outliving `hookhost run`.
        let reaper: Reaper? = Reaper.becomeSubreaper() ? Reaper(logger: Logger(level: .error)) : nil
        let report = LocalRun.run(delivery, function: f, config: config, launcher: PosixProcessLauncher(reaper: reaper),
                                  onStart: { pid in RunCommand.group.store(pid, ordering: .relaxed) },
                                  onExit: { _ in RunCommand.group.store(0, ordering: .relaxed) })
        let swept = reaper?.sweep(final: true).killed ?? 0
        if swept > 0 { print("note: killed \(swept) process\(swept == 1 ? "" : "es") the function left running (the host kills them too)\n") }
        print(render(report, f, host: host), terminator: "")
        return report.outcome == .ok ? 0 : 1
    }

    // MARK: the event

    /// The event type and body: from `--event` (checked the way the host admits a delivery) or
    /// `--data` (wrapped in the envelope `send` uses).
    static func event(_ a: Arguments, maxBody: Int) throws -> (String, [UInt8]) {
        let given = a.positional.first
        if let given, !EventType.isValid(EventType.canonical(given)) {
            throw UsageError("run: \"\(given)\" is not an event type (a plain dotted name such as batch.succeeded)")
        }
        if let file = a.options["--event"] {
            guard a.options["--data"] == nil else { throw UsageError("use either --event or --data") }
            let body = try BodyFile.contents(of: file, option: "--event")
            let name = file == "-" ? "stdin" : file
            guard body.count <= maxBody else {
                throw UsageError("--event: \(name) is \(body.count) bytes; the host answers 413 above HOOKHOST_MAX_BODY (\(maxBody))")
            }
            // The host's own checks, with its own words (it answers 400 and nothing runs).
            let json: JSON
            do { json = try JSONParser.parse(body) } catch { throw UsageError("--event \(name): the host refuses this body (400): body is not JSON: \(error)") }
            guard json.isObject else { throw UsageError("--event \(name): the host refuses this body (400): body is not a JSON object") }
            guard let sent = json["type"]?.stringValue else { throw UsageError("--event \(name): the host refuses this body (400): body has no string \"type\"") }
            let type = EventType.canonical(sent)
            guard EventType.isValid(type) else {
                throw UsageError("--event \(name): the host refuses this body (400): event type is not a plain dotted name of at most \(EventType.maxLength) bytes")
            }
            if let given, EventType.canonical(given) != type {
                throw UsageError("run: TYPE is \(given) but the event's \"type\" is \(sent); the host routes by the event's type (leave TYPE out, or edit the event)")
            }
            return (type, body)
        }
        guard let data = a.options["--data"] else { throw UsageError("run needs --event FILE (the webhook body) or TYPE --data JSON") }
        guard let given else { throw UsageError("run: --data needs the event TYPE (hookhost run batch.succeeded --data '{…}')") }
        guard let parsed = try? JSONParser.parse(data), parsed.isObject else { throw UsageError("--data must be a JSON object") }
        return (EventType.canonical(given), SignedDelivery.envelope(type: given, data: data, at: SystemClock().now()))
    }

    // MARK: the function

    enum Choice {
        /// The function, why it was chosen, and files among the type's candidates that the host
        /// routes past or never runs.
        case found(ResolvedFunction, why: String, notes: [String])
        /// None: the report to print.
        case none(String)
    }

    static func function(for type: String, _ a: Arguments) throws -> Choice {
        if let path = a.options["--function"] {
            guard a.options["--functions"] == nil else { throw UsageError("use either --functions DIR or --function PATH") }
            let abs = FileSystem.absolute(path)
            guard FunctionTable.isExecutableFile(abs) else {
                // chmod +x only helps a regular file; a directory or a FIFO never runs.
                var st = stat()
                let why = stat(abs, &st) != 0 ? ": \(String(cString: strerror(errno)))"
                    : (st.st_mode & S_IFMT) == S_IFDIR ? " (it is a directory)"
                    : (st.st_mode & S_IFMT) != S_IFREG ? " (it is not a regular file)" : " (chmod +x \(path))"
                throw UsageError("--function: \(path) is not an executable file" + why)
            }
            return .found(FunctionTable.function(at: abs, name: lastComponent(abs)), why: "named by --function", notes: [])
        }
        let dir = a.options["--functions"] ?? environment()["HOOKHOST_FUNCTIONS"] ?? "./Functions/bin"
        guard !dir.isEmpty else { throw ConfigError(setting: "HOOKHOST_FUNCTIONS", message: "is empty; give the functions directory") }
        let table = FunctionTable(directory: FileSystem.absolute(dir))
        guard table.exists else { throw ConfigError(setting: "HOOKHOST_FUNCTIONS (--functions)", message: "functions directory \(dir) does not exist") }
        let candidates = EventType.candidates(type)
        var problems = table.notExecutable(candidatesOf: type).map { "\($0) is not executable (chmod +x \($0)): the host routes past it" }
        problems += table.misnamed(candidatesOf: type).map(\.problem)
        guard let f = table.resolve(type) else {
            var out = "no function for \(type) in \(table.directory): the host would acknowledge the delivery and record it skipped\n"
            out += "  looked for: \(candidates.joined(separator: ", "))\n"
            for p in problems { out += "  \(p)\n" }
            return .none(out.trimmingNewlines)
        }
        let passed = candidates.prefix { $0 != f.name }
        let why: String
        switch f.name {
        case type: why = "exact match for \(type)"
        case "_default": why = "_default: no function named \(passed.joined(separator: " or "))"
        default: why = "family of \(type): no function named \(type)"
        }
        return .found(f, why: why, notes: problems)
    }

    // MARK: the result

    /// `result` for a local file: its absolute path, size and SHA-256, as the host reports a download.
    static func resultFile(_ path: String, uri: String, contentType: String?) throws -> FetchedResult {
        let abs = FileSystem.absolute(path)
        let fd = open(abs, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw UsageError("--result: cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw UsageError("--result: \(path) is not a regular file") }
        var hash = SHA256Stream()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw RuntimeError("--result: cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buf.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += n
        }
        return FetchedResult(uri: uri, path: abs, bytes: total, sha256: hexString(hash.finish()), contentType: contentType)
    }

    /// A reference as the host reports it in `result.uri` (`abc` → `files/abc`).
    static func reported(_ reference: String) -> String { (try? ResultURI(parsing: reference))?.reported ?? reference }

    static func lastComponent(_ path: String) -> String { String(path.split(separator: "/").last ?? Substring(path)) }

    // MARK: output

    static func header(_ choice: Choice, _ f: ResolvedFunction, _ d: LocalRun.Delivery, host: HostConfig) -> String {
        var why = ""
        if case .found(_, let w, _) = choice { why = w }
        var rows: [(String, String)] = [("function", "\(f.name)  (\(why))"), ("file", f.path)]
        rows.append(("sidecar", sidecarSummary(f, host: host)))
        rows.append(("delivery", "\(d.id), attempt \(d.attempt), type \(d.type)"))
        if let r = d.result {
            rows.append(("result", "\(r.uri) → \(r.path) (\(r.bytes) bytes, sha256 \(r.sha256.prefix(16))…"
                         + (r.contentType.map { ", \($0)" } ?? "") + ")"))
        } else {
            rows.append(("result", "null"))
        }
        return DeliveriesOutput.table(rows, indent: "")
    }

    static func sidecarSummary(_ f: ResolvedFunction, host: HostConfig) -> String {
        if let e = f.sidecarError { return "UNUSABLE: \(e)" }
        let e = EffectiveSettings(f.settings, host: host)
        var s = "timeout \(SettingRange.format(e.timeout)) s, max_attempts \(e.maxAttempts), fetch \(e.fetch)"
        if !f.settings.env.isEmpty { s += ", env " + f.settings.env.map(\.0).joined(separator: ",") }
        if !f.settings.passEnv.isEmpty { s += ", pass_env " + f.settings.passEnv.joined(separator: ",") }
        s += e.fromSidecar.isEmpty && f.settings.env.isEmpty && f.settings.passEnv.isEmpty ? " (host defaults)" : " (from \(f.name).json and the host's defaults)"
        return s
    }

    static func render(_ r: LocalRun.Report, _ f: ResolvedFunction, host: HostConfig) -> String {
        let maxAttempts = EffectiveSettings(f.settings, host: host).maxAttempts
        var outcome = r.outcome.rawValue
        if let e = r.failure { outcome += ": " + e }
        let meaning: String = switch r.outcome {
        case .ok: "the host would record the delivery done"
        case .retry: "not ready: the host would run it again later, spending no attempt"
        case .dead: "the host would dead-letter it at once"
        default: "a failed attempt: the host would retry it with backoff, up to max_attempts (\(maxAttempts)), then dead-letter it"
        }
        var rows: [(String, String)] = [("outcome", outcome), ("", meaning)]
        if RunCommand.interrupts.load(ordering: .relaxed) > 0 { rows.append(("", "stopped by an interrupt (Ctrl-C or SIGTERM to hookhost run)")) }
        rows.append(("exit code", r.exitCode.map(String.init) ?? (r.outcome == .timeout ? "none (timed out)" : "none")))
        rows.append(("duration", String(format3(r.seconds)) + " s (timeout \(SettingRange.format(r.timeout)) s)"))
        for name in r.refusedPassEnv { rows.append(("pass_env", "\(name) refused: HOOKHOST_* variables are never passed")) }
        var out = DeliveriesOutput.table(rows, indent: "")
        let trimmed = trimmingWhitespace(r.stdout)
        if trimmed.isEmpty {
            out += "\nstdout: (empty)\n"
        } else if let json = try? JSONParser.parse(Array(trimmed)) {
            let kept = r.storedAsOutput ? "a JSON object: the host stores it as the delivery's output"
                : "JSON but not one object: the host would not store it as the output"
            out += "\nstdout (\(kept)):\n" + indent(pretty(json), by: "  ") + "\n"
        } else {
            out += "\nstdout (not JSON: the host would not store it as the output; it keeps the first 200 bytes with the run):\n"
            out += indent(DeliveriesOutput.quoted(String(decoding: r.stdout, as: UTF8.self), lines: 40), by: "  ") + "\n"
        }
        if r.stdoutTruncated { out += "  (cut at the host's 1 MiB stdout limit)\n" }
        if r.stderrTail.isEmpty {
            out += "\nstderr: (empty)\n"
        } else {
            out += "\nstderr (the end, as the host logs it):\n" + indent(DeliveriesOutput.quoted(r.stderrTail, lines: 20), by: "  ") + "\n"
        }
        return out
    }

    static func format3(_ seconds: Double) -> String {
        let ms = Int((seconds * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    static func trimmingWhitespace(_ b: [UInt8]) -> ArraySlice<UInt8> {
        let ws: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = b.firstIndex(where: { !ws($0) }), let last = b.lastIndex(where: { !ws($0) }) else { return [] }
        return b[first...last]
    }

    static func indent(_ text: String, by prefix: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
    }

    /// JSON indented two spaces per level, keys in their order, scalars as written.
    static func pretty(_ v: JSON, level: Int = 0) -> String {
        let pad = String(repeating: "  ", count: level + 1), close = String(repeating: "  ", count: level)
        switch v {
        case .object(let members) where !members.isEmpty:
            return "{\n" + members.map { m in
                var w = JSONWriter(); w.string(m.key)
                return pad + w.string + ": " + pretty(m.value, level: level + 1)
            }.joined(separator: ",\n") + "\n" + close + "}"
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { pad + pretty($0, level: level + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        default:
            var w = JSONWriter(); w.value(v)
            return w.string
        }
    }

    // MARK: process

    /// The running function's process group (0: none), for the interrupt handler.
    static let group = Atomic<Int32>(0)
    static let interrupts = Atomic<Int>(0)

    /// Ctrl-C or SIGTERM stops the function (in a process group of its own, the terminal's
    /// SIGINT does not reach it) instead of leaving it running behind a dead `hookhost run`;
    /// the run then reports how it ended. SIGPIPE is ignored as in the host: a function that
    /// closes stdin early must not kill the runner.
    static func takeInterrupts() {
        signal(SIGPIPE, SIG_IGN)
        let handler: @convention(c) (Int32) -> Void = { _ in
            // Only atomics and killpg: async-signal-safe.
            let n = RunCommand.interrupts.add(1, ordering: .relaxed).newValue
            let pid = RunCommand.group.load(ordering: .relaxed)
            if pid > 0 { killpg(pid, n == 1 ? SIGTERM : SIGKILL) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// A fresh directory for the run's scratch directory (removed afterwards, with it).
    static func makeScratchRoot() throws -> String {
        var template = Array("/tmp/hookhost-run-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RuntimeError("cannot create a scratch directory in /tmp: \(String(cString: strerror(errno)))")
        }
        return String(cString: p)
    }
}
