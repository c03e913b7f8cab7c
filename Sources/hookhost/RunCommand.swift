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
    same choice of function (by type and routes on user_metadata), stdin document, environment
    (PATH, HOME, LANG, HOOKHOST_EVENT_TYPE, HOOKHOST_DELIVERY_ID, HOOKHOST_ATTEMPT,
    HOOKHOST_WORK_DIR, HOOKHOST_EMIT, HOOKHOST_RESULT_PATH, the sidecar's env and pass_env),
    private scratch directory as the working directory, timeout (the sidecar's, else
    HOOKHOST_FUNCTION_TIMEOUT) and process-group teardown (what it detaches is killed when it
    ends), and the same reading of its exit code and of the events it emits (listed, not run).
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
                        characters, not ending in ~e<number>, as the host admits a webhook-id)
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
        // An emitted event's id: the host refuses it from outside, and this run cannot be one
        // (no parent, so no delivery.parent, root or depth on stdin).
        guard !EmitFile.isChildID(id) else {
            throw UsageError("--id \(id) ends in ~e<number>, the form of an emitted event's id; the host answers 400 to such a webhook-id")
        }
        var attempt = 1
        if let text = a.options["--attempt"] {
            guard let n = Int(text), n >= 1, n <= 1_000_000 else { throw UsageError("--attempt must be a whole number from 1 to 1000000, got \"\(text)\"") }
            attempt = n
        }
        // Routed as the host routes it: by its type and the user_metadata admission would keep.
        let head = DeliveryHead.derive(body: body)?.head ?? DeliveryHead()
        let choice = try function(for: type, userMetadata: head.userMetadataJSON, a)
        let f: ResolvedFunction
        switch choice {
        case .found(let found, _, _): f = found
        case .none(let report): print(report); return 1
        }
        var notes: [String] = []
        if case .found(_, _, let n) = choice { notes = n }
        let named = head.result
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
