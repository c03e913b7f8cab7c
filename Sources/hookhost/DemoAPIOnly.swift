import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost demo --api-only DIR`: the demo's stand-in for the Gemini files and batches API on
/// its own, serving your files — so a host you run (HOOKHOST_API_BASE pointed here) downloads
/// results exactly as it would from Google, with no network and no key.
enum DemoAPIOnly {
    static let help = """
    hookhost demo --api-only DIR [--listen HOST:PORT] [--api-key KEY] [--webhook URL]

    Serves DIR the way the Gemini API serves results, until SIGTERM or Ctrl-C:
      files/<id>    GET /download/v1beta/files/<id>:download?alt=media → DIR/files/<id>, else DIR/<id>
      batches/<id>  GET /v1beta/batches/<id> → DIR/batches/<id>.json, else DIR/batches/<id>
    and stands in for batch jobs and interactions (as google-genai calls them; kept in memory):
      POST /v1/models/<model>:batchGenerateContent   creates a batch (inline requests, or an input
                    file from DIR); it succeeds a moment later (every 9th request fails with 429
                    the first time its key is seen) and a batch.succeeded signed with the first
                    of HOOKHOST_SECRETS goes to its webhookConfig.uris, else to --webhook
      GET  /v1/batches/<id>, /download/v1beta/files/batch-<id>:download   the batch, its output
      GET  /v1/batches?pageSize=&pageToken=   every created batch (client.batches.list)
      GET  /v1/operations/<id>   a done Veo operation (video files/video-<id>; ids running…/failed… differ)
      POST /standin/lose-webhooks?count=N   the next N batches send no webhook (for reconcile)
      GET  /v1/interactions/<id>    requires_action with one pending function call (add)
      POST /v1/interactions         previous_interaction_id + a function_result answers it
    and for Gemini's WebhookService (project webhooks, in memory; what hookhost webhooks calls):
      POST|GET /v1/webhooks, GET|PATCH|DELETE /v1/webhooks/<id>, POST /v1/webhooks/<id>:ping
                    (a signed webhook.ping to its uri), POST /v1/webhooks/<id>:rotateSigningSecret
    Prints the base URL first (HOOKHOST_API_BASE=http://…), then one line per request. --listen
    defaults to a free 127.0.0.1 port. With --api-key, a request without that x-goog-api-key is
    answered 401 as the real API would (give the host the same GEMINI_API_KEY); without it any key
    or none is accepted; a key starting with "denied" is answered 403 PERMISSION_DENIED (for
    tests). Files are read whole into memory per request (at most 256 MiB).
    """

    static func run(_ a: Arguments) throws -> Int32 {
        for flag in ["--functions"] where a.options[flag] != nil { throw UsageError("\(flag) does not go with --api-only") }
        if a.flags.contains("--keep") { throw UsageError("--keep does not go with --api-only") }
        let webhook = a.options["--webhook"]
        if let webhook, !(webhook.hasPrefix("http://") || webhook.hasPrefix("https://")) {
            throw ConfigError(setting: "--webhook", message: "expected an http:// or https:// URL, got \"\(webhook)\"")
        }
        // From the environment, as `hookhost send` takes it: a flag would show in /proc/<pid>/cmdline.
        let secret: WebhookSecret?
        if let text = environment()["HOOKHOST_SECRETS"]?.split(whereSeparator: { $0 == " " || $0 == "," }).first {
            do { secret = try WebhookSecret(String(text)) } catch { throw ConfigError(setting: "HOOKHOST_SECRETS", message: "\(error)") }
        } else {
            secret = nil
        }
        guard let dirOption = a.options["--api-only"], !dirOption.isEmpty else { throw UsageError("--api-only needs a directory") }
        let dir = FileSystem.absolute(dirOption)
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ConfigError(setting: "--api-only", message: "\(dirOption) is not a directory")
        }
        let listenText = a.options["--listen"] ?? "127.0.0.1:0"
        guard let listen = SocketAddress(parsing: listenText) else {
            throw ConfigError(setting: "--listen", message: "expected HOST:PORT or [V6]:PORT, got \"\(listenText)\"")
        }
        let fd: Int32, port: UInt16
        do { (fd, port) = try Listener.open(listen) } catch {
            throw ConfigError(setting: "--listen", message: "cannot listen on \(listenText): \(error)")
        }
        let base: String = switch listen {
        case .inet(let h, _): "http://\(h == "0.0.0.0" ? "127.0.0.1" : h):\(port)"
        case .inet6(let h, _): "http://[\(h == "::" ? "::1" : h)]:\(port)"
        default: "http://127.0.0.1:\(port)"
        }
        // Blocked before the server's threads exist (they inherit the mask); taken below with sigwait.
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)
        let server: HTTPServer
        do {
            server = try HTTPServer(listeners: [fd], loops: 1, config: HTTPServerConfig(),
                                    responder: StandInAPI(root: dir, apiKey: a.options["--api-key"], secret: secret, webhook: webhook),
                                    logger: Logger(level: .error))
        } catch { throw RuntimeError("cannot start the stand-in API: \(error)") }
        server.start()
        say("HOOKHOST_API_BASE=\(base)")
        say("stand-in Gemini API serving \(dir) (files/<id> → files/<id> or <id>; batches/<id> → batches/<id>.json); Ctrl-C stops it")
        if secret == nil { say("no HOOKHOST_SECRETS: created batches succeed, but no batch.succeeded is sent") }
        var sig: Int32 = 0
        while sigwait(&signals, &sig) != 0 {}
        server.stop()
        server.join()
        say("stopped (signal \(sig))")
        return 0
    }

    /// One line on stdout, flushed at once: a script reading the base URL from a pipe must not
    /// wait for a buffer to fill.
    static func say(_ line: String) {
        print(line)
        fflush(nil)  // every stream: `stdout` itself is shared mutable state to Swift 6
    }
}

/// Answers the two download requests the host makes for `files/…` and `batches/…` references
/// from a directory. Ids are checked to be one safe path segment, as the host's own parser does,
/// so a request can name nothing outside `root`.
struct StandInAPI: HTTPResponder {
    let root: String
    let apiKey: String?
    /// Created batches and interactions; input files are read from `root` like downloads.
    let jobs: StandInJobs
    /// Project webhooks (WebhookService).
    let webhooks = StandInWebhooks(log: { DemoAPIOnly.say($0) })

    init(root: String, apiKey: String?, secret: WebhookSecret?, webhook: String?) {
        self.root = root
        self.apiKey = apiKey
        jobs = StandInJobs(secret: secret, projectWebhook: webhook, readFile: { id in
            for file in [root + "/files/" + id, root + "/" + id] {
                var st = stat()
                guard stat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                return try? SmallFile.read(file, limit: StandInAPI.maxBytes)
            }
            return nil
        }, log: { DemoAPIOnly.say($0) })
    }

    static let maxBytes = 256 << 20

    func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let answer = self.answer(request)
        DemoAPIOnly.say("\(request.method) \(request.target) → \(answer.status)\(answer.note.map { " " + $0 } ?? "")")
        respond(answer.response)
    }

    struct Answer {
        let response: HTTPResponse
        let note: String?
        var status: Int { response.status }
    }

    func answer(_ request: HTTPRequest) -> Answer {
        // A test switch (documented with the stand-in): a key starting with "denied" stands for a
        // valid key without permission on the project, which Gemini answers 403.
        if request.header("x-goog-api-key")?.hasPrefix("denied") == true {
            return Answer(response: StandInJobs.failure(403, "PERMISSION_DENIED", "The caller does not have permission"), note: "PERMISSION_DENIED")
        }
        if let apiKey, request.header("x-goog-api-key") != apiKey { return failure(401, "API key not valid") }
        if let response = webhooks.answer(request) {
            // The request's shape, for tests that compare hookhost's requests with google-genai's.
            return Answer(response: response, note: "fields=" + StandInWebhooks.fields(request.body).joined(separator: ","))
        }
        if let response = jobs.answer(request) { return Answer(response: response, note: nil) }
        guard request.method == "GET" || request.method == "HEAD" else { return failure(405, "method not allowed") }
        let path = request.path
        let candidates: [String]
        if path.hasPrefix("/download/v1beta/files/"), path.hasSuffix(":download") {
            let id = String(path.dropFirst("/download/v1beta/files/".count).dropLast(":download".count))
            guard StandInAPI.isSafeID(id) else { return failure(400, "\"\(id)\" is not a file id") }
            candidates = [root + "/files/" + id, root + "/" + id]
        } else if path.hasPrefix("/v1beta/batches/") || path.hasPrefix("/v1/batches/") {
            let id = String(path.dropFirst(path.hasPrefix("/v1/") ? "/v1/batches/".count : "/v1beta/batches/".count))
            guard StandInAPI.isSafeID(id) else { return failure(400, "\"\(id)\" is not a batch id") }
            candidates = [root + "/batches/" + id + ".json", root + "/batches/" + id]
        } else {
            return failure(404, "not found (this stand-in serves /download/v1beta/files/<id>:download and /v1beta/batches/<id>)")
        }
        for file in candidates {
            var st = stat()
            guard stat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            do {
                let body = try SmallFile.read(file, limit: StandInAPI.maxBytes)
                return Answer(response: HTTPResponse(status: 200, headers: [("Content-Type", StandInAPI.contentType(file))], body: body),
                              note: "\(file) (\(body.count) bytes)")
            } catch {
                return failure(500, "cannot serve \(file): \(error)")
            }
        }
        return failure(404, "file not found or expired (looked for \(candidates.joined(separator: ", ")))")
    }

    private func failure(_ status: Int, _ message: String) -> Answer {
        var w = JSONWriter()
        w.beginObject(); w.key("error"); w.beginObject()
        w.field("code", status); w.field("message", message)
        w.endObject(); w.endObject()
        return Answer(response: .json(status, w.bytes), note: message)
    }

    /// One segment of letters, digits, `-`, `_`, `.`, not `.` or `..` (what `ResultURI` accepts).
    static func isSafeID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 256 && s != "." && s != ".." && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func contentType(_ file: String) -> String {
        let ext = file.split(separator: "/").last.flatMap { name in name.lastIndex(of: ".").map { name[name.index(after: $0)...].lowercased() } } ?? ""
        switch ext {
        case "jsonl": return "application/jsonl"
        case "json": return "application/json"
        case "mp4": return "video/mp4"
        case "webm": return "video/webm"
        case "mov": return "video/quicktime"
        case "txt": return "text/plain"
        default: return "application/octet-stream"
        }
    }
}
