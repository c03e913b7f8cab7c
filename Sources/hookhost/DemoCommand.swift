import CSys
import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost demo`: a host on a free loopback port with the example functions, fed one signed
/// delivery of every Gemini event type, then a report of what each function did.
enum DemoCommand {
    static let help = """
    hookhost demo [--functions DIR] [--listen HOST:PORT] [--keep]

    Starts `hookhost serve` on a free 127.0.0.1 port (or at --listen, e.g. 127.0.0.1:8080 or
    0.0.0.0:8080, to reach it from elsewhere while it runs) with a temporary data directory and the
    functions in DIR (default ./Functions/bin, built by Functions/build.sh), sends a signed
    delivery of every event type (plus a duplicate and a forged one), then JWT-signed dynamic
    deliveries checked against a local JWKS (plus one with an unknown kid), waits for the
    functions and prints what each did; last, a batch whose webhook the stand-in drops is found
    and recovered by reconcile (as hookhost reconcile --apply). --keep leaves the data directory
    and log in place.

    \(DemoAPIOnly.help)
    """

    static let events: [(String, String)] = [
        ("batch.succeeded", #"{"id":"batches/demo1","output_file_uri":"files/batch-demo1","user_metadata":{"job_group":"demo"}}"#),
        ("batch.failed", #"{"id":"batches/demo2","error_code":429,"error_message":"quota exceeded"}"#),
        ("batch.cancelled", #"{"id":"batches/demo3"}"#),
        ("batch.expired", #"{"id":"batches/demo4"}"#),
        ("interaction.requires_action", #"{"id":"interactions/demo5"}"#),
        ("interaction.completed", #"{"id":"interactions/demo6"}"#),
        ("interaction.failed", #"{"id":"interactions/demo7","error_code":"INTERNAL","error_message":"model error"}"#),
        ("interaction.cancelled", #"{"id":"interactions/demo8"}"#),
        ("video.generated", #"{"id":"models/veo/operations/demo9","video_uri":"files/video-demo9"}"#),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--functions", "--listen", "--api-only", "--api-key", "--webhook"], switches: ["--keep"])
        try a.expectPositional(atMost: 0, "demo")
        if a.options["--api-only"] != nil { return try DemoAPIOnly.run(a) }
        for flag in ["--api-key", "--webhook"] where a.options[flag] != nil { throw UsageError("\(flag) goes with --api-only DIR") }
        let functions = FileSystem.absolute(a.options["--functions"] ?? "./Functions/bin")
        guard FunctionTable(directory: functions).exists else {
            throw ConfigError(setting: "--functions", message: "\(functions) does not exist; build the examples with Functions/build.sh")
        }
        let (listen, base) = try address(a.options["--listen"])
        let work = try makeTempDirectory()
        let secret = WebhookSecret(key: Crypto.randomBytes(32))
        // Dynamic webhooks: a key pair made here, its JWKS as a local file.
        let jwtKey: RSAPrivateKey
        do { jwtKey = try RSAPrivateKey.generate() } catch { throw RuntimeError(error.message) }
        let kid = JWTSigner.thumbprint(jwtKey)
        try KeysCommand.write(work + "/jwks.json", JWTSigner.jwks(jwtKey, keyID: kid), mode: 0o644)
        let url = base + "/webhooks"
        // The stand-in for the Gemini API the results are downloaded from (in this process).
        let (apiFD, apiPort) = try Listener.open(.inet(host: "127.0.0.1", port: 0))
        let demoAPI = DemoAPI(secret: secret, webhook: url)
        let api = try HTTPServer(listeners: [apiFD], loops: 1, config: HTTPServerConfig(), responder: demoAPI, logger: Logger(level: .error))
        api.start()
        defer { api.stop(); api.join() }
        print("stand-in Gemini API (batch output, videos) on 127.0.0.1:\(apiPort)")
        print("hookhost demo: host on \(listen), functions \(functions), data \(work)/data")
        // The secret goes in the environment: a flag's value would be readable in /proc/<pid>/cmdline.
        let pid = try spawnHost(["serve", "--listen", listen.description, "--data", work + "/data",
                                 "--functions", functions, "--jwks-file", work + "/jwks.json", "--retry-base", "1", "--retry-cap", "2", "--max-attempts", "2"],
                                environment: ["HOOKHOST_SECRETS": secret.encoded, "GEMINI_API_KEY": DemoAPI.apiKey,
                                              "HOOKHOST_API_BASE": "http://127.0.0.1:\(apiPort)",
                                              // The functions that call the API (pass_env) reach the stand-in too.
                                              "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:\(apiPort)"], log: work + "/host.log")
        defer {
            kill(pid, SIGTERM)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            if !a.flags.contains("--keep") { FileSystem.removeTree(work) } else { print("kept \(work) (host.log, data/)") }
        }
        let host = DemoHostWatch(pid: pid)
        guard waitHealthy(base, host: host) else { throw RuntimeError("the host did not start; see \(work)/host.log") }

        // Ids unique to this run: the example functions are idempotent on the delivery id and
        // keep their outputs (in /tmp/hookhost-*), so a second demo would only find its first.
        let run = String(hexString(Crypto.randomBytes(3)))
        print("\nsending one signed delivery per event type (ids end in _\(run)):")
        var ids: [String] = []
        for (type, data) in events {
            let id = "demo_" + type.replacingDots + "_" + run
            ids.append(id)
            let (status, body) = try post(url, secret: secret, id: id, type: type, data: data)
            print("  \(type.padded(28)) → \(status) \(body)")
        }
        let routedID = "demo_routed_" + run
        ids.append(routedID)
        let (routedStatus, routedBody) = try post(url, secret: secret, id: routedID, type: routedBatch.type, data: routedBatch.data)
        print("  \("(job_group nightly-eval)".padded(28)) → \(routedStatus) \(routedBody)")
        let (dupStatus, dupBody) = try post(url, secret: secret, id: ids[0], type: events[0].0, data: events[0].1)
        print("  \("(same id again)".padded(28)) → \(dupStatus) \(dupBody)")
        let forged = WebhookSecret(key: Crypto.randomBytes(32))
        let (badStatus, badBody) = try post(url, secret: forged, id: "demo_forged", type: "batch.succeeded", data: "{}")
        print("  \("(wrong secret)".padded(28)) → \(badStatus) \(badBody)")

        print("\nsending dynamic (per-job) deliveries signed with an RS256 JWT, kid \(kid.prefix(12))…:")
        for (type, data) in [events[0], events[8]] {
            let id = "demo_jwt_" + type.replacingDots + "_" + run
            ids.append(id)
            let (status, body) = try postJWT(url, key: jwtKey, kid: kid, id: id, type: type, data: data)
            print("  \(type.padded(28)) → \(status) \(body)")
        }
        let (unknownStatus, unknownBody) = try postJWT(url, key: jwtKey, kid: "not-in-the-jwks", id: "demo_jwt_unknown", type: "batch.succeeded", data: "{}")
        print("  \("(unknown kid)".padded(28)) → \(unknownStatus) \(unknownBody)")

        print("\nwaiting for the functions…")
        let sock = work + "/data/control.sock"
        // The host is another process with no "tell me when" call: one list request per pause
        // says whether all ids are finished; each delivery is fetched in full once, at the end.
        let deadline = monotonicNow() + 20
        while monotonicNow() < deadline && !allFinished(sock, ids) {
            guard host.pause(0.2) else { throw RuntimeError("the host exited while the functions ran; see \(work)/host.log") }
        }
        let rows = ids.compactMap { show(sock, $0) }
        print("")
        for r in rows {
            let d = r["delivery"]
            let last = r["last"]
            let via = d?["verified_by"]?.stringValue == "jwt" ? " (jwt)" : ""
            var line = "  \(((d?["type"]?.stringValue ?? "?") + via).padded(28)) \((d?["function"]?.stringValue ?? "-").padded(20)) \((d?["state"]?.stringValue ?? "?").padded(16))"
            if let out = last?.member("output"), out.value != .null {
                var w = JSONWriter(); w.value(out.value); line += " output " + w.string
            } else if let e = d?["error"]?.stringValue {
                line += " " + e
            }
            print(line)
            if let se = last?["stderr"]?.stringValue, !se.isEmpty { print("      stderr: " + se.trimmingNewlines.replacingAll("\n", "\n              ")) }
        }
        try printPipeline(sock, root: ids[0], known: Set(ids), host: host)
        try showReconcile(demoAPI.jobs, apiPort: apiPort, sock: sock, host: host)
        print("\nmetrics: " + metricsSummary(base))
        return 0
    }

    static func post(_ url: String, secret: WebhookSecret, id: String, type: String, data: String) throws -> (Int, String) {
        let now = SystemClock().now()
        let body = SignedDelivery.envelope(type: type, data: data, at: now)
        let req = SignedDelivery.request(url: url, secret: secret, id: id, timestamp: String(Int(now)), body: body)
        do {
            let r = try HTTPClient.perform(req)
            return (r.status, r.bodyText.trimmingNewlines)
        } catch { throw RuntimeError("demo delivery failed: \(error)") }
    }

    static func postJWT(_ url: String, key: RSAPrivateKey, kid: String, id: String, type: String, data: String) throws -> (Int, String) {
        let now = SystemClock().now()
        let body = SignedDelivery.envelope(type: type, data: data, at: now)
        let req = SignedDelivery.jwtRequest(url: url, key: key, kid: kid, audience: nil, id: id, timestamp: String(Int(now)), body: body)
        do {
            let r = try HTTPClient.perform(req)
            return (r.status, r.bodyText.trimmingNewlines)
        } catch { throw RuntimeError("demo delivery failed: \(error)") }
    }

    /// Whether every id is done, dead or skipped (one `GET /deliveries` on the control socket).
    static func allFinished(_ sock: String, _ ids: [String]) -> Bool {
        var req = ClientRequest(url: "http://hookhost/deliveries")
        req.unixSocket = sock
        guard let r = try? HTTPClient.perform(req), r.status == 200,
              case .array(let items)? = (try? JSONParser.parse(r.body))?["deliveries"] else { return false }
        let finished = Set(items.compactMap { d -> String? in
            ["done", "dead", "skipped"].contains(d["state"]?.stringValue ?? "") ? d["id"]?.stringValue : nil
        })
        return ids.allSatisfy(finished.contains)
    }

    static func show(_ sock: String, _ id: String) -> JSON? {
        var req = ClientRequest(url: "http://hookhost/deliveries/" + ControlEndpoint.percentEncode(id))
        req.unixSocket = sock
        guard let r = try? HTTPClient.perform(req), r.status == 200 else { return nil }
        return try? JSONParser.parse(r.body)
    }

    static func metricsSummary(_ base: String) -> String {
        guard let r = try? HTTPClient.perform(ClientRequest(url: base + "/metrics")) else { return "unavailable" }
        return r.bodyText.split(separator: "\n").filter { $0.hasPrefix("hookhost_deliveries_total") && !$0.hasSuffix(" 0") }.joined(separator: ", ")
    }

    /// Asks /healthz until it answers, at most 100 times 0.1 s apart; gives up the moment the
    /// host exits.
    static func waitHealthy(_ base: String, host: DemoHostWatch) -> Bool {
        for _ in 0..<100 {
            if host.exited { return false }
            var req = ClientRequest(url: base + "/healthz")
            req.timeout = 1
            if let r = try? HTTPClient.perform(req), r.status == 200 { return true }
            guard host.pause(0.1) else { return false }
        }
        return false
    }

    /// Where the host listens and the base URL the demo reaches it at: a free loopback port, or
    /// `--listen` — checked free first, so a taken port is named here and not as "did not start".
    /// A wildcard address is reached through loopback.
    static func address(_ option: String?) throws -> (SocketAddress, String) {
        guard let option else {
            let port = try freePort()
            return (.inet(host: "127.0.0.1", port: port), "http://127.0.0.1:\(port)")
        }
        let base: String
        switch SocketAddress(parsing: option) {
        case .inet(let h, let p)? where p != 0: base = "http://\(h == "0.0.0.0" ? "127.0.0.1" : h):\(p)"
        case .inet6(let h, let p)? where p != 0: base = "http://[\(h == "::" ? "::1" : h)]:\(p)"
        default: throw ConfigError(setting: "--listen", message: "expected HOST:PORT or [V6]:PORT with a port other than 0, got \"\(option)\"")
        }
        let listen = SocketAddress(parsing: option)!
        do {
            let (fd, _) = try Listener.open(listen)
            close(fd)
        } catch {
            throw ConfigError(setting: "--listen", message: "cannot listen on \(option): \(error)")
        }
        return (listen, base)
    }

    static func freePort() throws -> UInt16 {
        let (fd, port) = try Listener.open(.inet(host: "127.0.0.1", port: 0))
        close(fd)
        return port
    }

    static func makeTempDirectory() throws -> String {
        var template = Array("/tmp/hookhost-demo-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw RuntimeError("cannot create a directory under /tmp: \(Errno())") }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts this same executable in the background with stdout/stderr going to `log`, with this
    /// process's environment plus (replacing) `overrides`.
    static func spawnHost(_ args: [String], environment overrides: [String: String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let exe = "/proc/self/exe"
        let argv = CStringArray([exe] + args)
        let env = environment().merging(overrides) { _, new in new }
        let envp = CStringArray(env.map { $0.key + "=" + $0.value })
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, nil, argv.pointers, envp.pointers)
        guard rc == 0 else { throw RuntimeError("cannot start the host: \(String(cString: strerror(rc)))") }
        return pid
    }
}

extension String {
    var replacingDots: String { replacingAll(".", "_") }
}
