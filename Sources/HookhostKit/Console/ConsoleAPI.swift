import HookSupport
import HookHTTP
import HookSpool
import HookDispatch

/// The console's JSON answers. Whatever the control socket already answers (status, one
/// delivery, replay and purge by filter, pause and resume) is the control socket's answer,
/// asked through `ControlEndpoint`, so `hookhost deliveries` and the page never disagree; the
/// rest (pages, samples, dead-letter groups, functions with their runs) is added here.
struct ConsoleAPI: Sendable {
    let control: ControlEndpoint
    let sampler: ConsoleSampler
    let metrics: Metrics
    /// The host's settings a function falls back to (its effective settings).
    let host: HostConfig

    var admin: SpoolAdmin { control.admin }

    static let defaultLimit = 50
    static let maxLimit = 500

    func answer(_ read: ConsoleRoute.Read, _ request: HTTPRequest) -> HTTPResponse {
        if case .deliveries = read {} else if let refused = ConsoleAPI.refuseQuery(request) { return refused }
        switch read {
        case .status: return control.answer(rewritten(request, "/status"))
        case .samples: return .json(200, sampler.json())
        case .deliveries: return deliveries(request)
        case .delivery(let id):
            // Tagged, so the page's poll of an unchanged delivery is a 304 without the body
            // (which may be 32 MB); the tag is taken first, so it is never newer than the answer.
            let tag = admin.showTag(id)
            if let tag, request.header("if-none-match") == tag { return HTTPResponse(status: 304, headers: [("ETag", tag)]) }
            var answer = control.answer(rewritten(request, "/deliveries/" + ControlEndpoint.percentEncode(id)))
            if let tag, answer.status == 200 { answer.headers.append(("ETag", tag)) }
            return answer
        case .output(let id):
            guard let out = admin.output(id) else { return .error(404, "no output kept for \(id.prefix(200))") }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/json"),
                                                       ("Content-Disposition", "attachment; filename=\"\(ConsoleAPI.fileName(id))-output.json\"")], body: out)
        case .dead: return .json(200, admin.deadGroups())
        case .functions: return .json(200, functions())
        }
    }

    func answer(_ action: ConsoleRoute.Action, _ request: HTTPRequest) -> HTTPResponse {
        switch action {
        case .replayFiltered, .purgeFiltered: break
        default: if let refused = ConsoleAPI.refuseQuery(request) { return refused }
        }
        switch action {
        case .replay(let id): return control.answer(rewritten(request, "/deliveries/\(ControlEndpoint.percentEncode(id))/replay"))
        case .purge(let id): return ControlEndpoint.answer(admin.purge(id))
        case .replayFiltered: return control.answer(rewritten(request, "/deliveries/replay", keepQuery: true))
        case .purgeFiltered: return control.answer(rewritten(request, "/deliveries/purge", keepQuery: true))
        case .pause(let name): return control.answer(rewritten(request, "/functions/\(ControlEndpoint.percentEncode(name))/pause"))
        case .resume(let name): return control.answer(rewritten(request, "/functions/\(ControlEndpoint.percentEncode(name))/resume"))
        case .replayDeadGroup:
            switch ConsoleAPI.deadGroup(request.body) {
            case .success(let g): return ControlEndpoint.answer(admin.replayDeadGroup(function: g.function, reason: g.reason))
            case .failure(let e): return .error(400, e.message)
            }
        }
    }

    /// The group a dead-letter replay names: `{"function": NAME or null, "reason": REASON}` and
    /// nothing else. A function that is neither, or a misspelt key, is an error: read as "no
    /// function" it would replay another group.
    static func deadGroup(_ body: [UInt8]) -> Result<(function: String?, reason: String), ControlRequestError> {
        let usage = "body must be {\"function\": NAME or null, \"reason\": REASON} as GET /console/api/dead lists them"
        guard let doc = try? JSONParser.parse(body), case .object(let members) = doc else { return .failure(ControlRequestError(message: usage)) }
        if let other = members.first(where: { $0.key != "function" && $0.key != "reason" }) {
            return .failure(ControlRequestError(message: "unknown key \(other.key.prefix(40)) in the body; \(usage)"))
        }
        guard Set(members.map(\.key)).count == members.count else { return .failure(ControlRequestError(message: "a key given twice; \(usage)")) }
        guard let reason = doc["reason"]?.stringValue else { return .failure(ControlRequestError(message: usage)) }
        switch doc["function"] {
        case nil, .null?: return .success((nil, reason))
        case .string(let f)?: return .success((f, reason))
        default: return .failure(ControlRequestError(message: "function must be a name or null; \(usage)"))
        }
    }

    /// 400 for a query on a request that takes none: `dead?function=f` answered with every
    /// group, or `…/purge?state=dead` acting on the one id alone, would not be what was asked.
    static func refuseQuery(_ request: HTTPRequest) -> HTTPResponse? {
        switch ControlEndpoint.query(request.target) {
        case .failure(let e): return .error(400, e.message)
        case .success(let q):
            guard let name = q.keys.sorted().first else { return nil }
            return .error(400, "unknown query parameter \(name.prefix(40)) for \(request.method) \(request.path.prefix(200)) (it takes none)")
        }
    }

    /// The action's name for the log line (no ids: they are in the request's own log).
    static func describe(_ a: ConsoleRoute.Action) -> String {
        switch a {
        case .replay: "replay"
        case .purge: "purge"
        case .replayFiltered: "replay by filter"
        case .purgeFiltered: "purge by filter"
        case .replayDeadGroup: "replay dead-letter group"
        case .pause(let n): "pause \(n)"
        case .resume(let n): "resume \(n)"
        }
    }

    /// The same request as the control socket would get it: its path, and its query only where
    /// the control socket takes one (the filters of a replay or purge).
    private func rewritten(_ r: HTTPRequest, _ path: String, keepQuery: Bool = false) -> HTTPRequest {
        let query = keepQuery ? r.target.firstIndex(of: "?").map { String(r.target[$0...]) } ?? "" : ""
        return HTTPRequest(method: r.method == "HEAD" ? "GET" : r.method, target: path + query, headers: r.headers, body: r.body)
    }

    /// `GET /console/api/deliveries?state=&type=&function=&since=&until=&limit=&before=`.
    private func deliveries(_ request: HTTPRequest) -> HTTPResponse {
        let query: [String: String]
        switch ControlEndpoint.query(request.target) {
        case .success(let q): query = q
        case .failure(let e): return .error(400, e.message)
        }
        let known: Set<String> = ["state", "type", "function", "since", "until", "limit", "before"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            return .error(400, "unknown query parameter \(unknown) (known: \(known.sorted().joined(separator: ", ")))")
        }
        // An empty filter field is a form left blank: no filter, not "function named ''".
        let filters = query.filter { !$0.value.isEmpty && $0.key != "limit" && $0.key != "before" }
        let filter: DeliveryFilter
        switch ControlEndpoint.filter(filters) {
        case .success(let f): filter = f
        case .failure(let e): return .error(400, e.message)
        }
        var limit = ConsoleAPI.defaultLimit
        if let l = query["limit"], !l.isEmpty {
            guard let n = Int(l), n >= 1, n <= ConsoleAPI.maxLimit else { return .error(400, "limit must be 1 … \(ConsoleAPI.maxLimit), not \(l.prefix(40))") }
            limit = n
        }
        var before: DeliveryCursor?
        if let b = query["before"], !b.isEmpty {
            guard let c = DeliveryCursor(text: b) else { return .error(400, "before must be a cursor from a page's next, not \(b.prefix(60))") }
            before = c
        }
        return .json(200, admin.page(filter, before: before, limit: limit))
    }

    /// `{"directory","problems":[…],"functions":[{…as hookhost functions --json…, "since",
    /// "runs_since_start":{outcome:N},"last_hour":{runs,errors,error_rate},"last_runs":[…]}]}`.
    func functions() -> [UInt8] {
        let table = admin.functions
        var report = StatusReport()
        report.addFunctions(table)
        let conflicts = table.directoryRoutes().table.conflicts()
        let paused = admin.pauses.list
        let now = sampler.current()
        let hourAgo = sampler.samples.first { $0.at >= now.at - 3600 }
        let lastRuns = admin.spool.newestByFunction(limit: 5)
        var w = JSONWriter(reserve: 4096)
        w.beginObject()
        w.field("directory", table.directory)
        w.key("problems"); w.beginArray(); for p in report.functions?.problems ?? [] { w.string(p) }; w.endArray()
        w.key("not_executable"); w.beginArray(); for n in table.notExecutable() { w.string(n) }; w.endArray()
        w.key("functions"); w.beginArray()
        for f in table.all() {
            w.beginObject()
            FunctionReport.writeFields(f, host: host, conflicts: conflicts, paused: paused, into: &w)
            w.field("since", optional: paused.since[f.name].map(formatTimestamp))
            w.key("runs_since_start"); w.beginObject()
            for o in ConsoleSample.outcomes where o != "skipped" { w.key(o); w.int(Int(now.runs[f.name]?[o] ?? 0)) }
            w.endObject()
            let (runs, errors) = ConsoleRates.runs(of: f.name, from: hourAgo, to: now)
            w.key("last_hour"); w.beginObject()
            w.field("runs", Int(runs)); w.field("errors", Int(errors))
            w.key("error_rate"); if runs > 0 { w.double((errors / runs * 1000).rounded() / 1000) } else { w.null() }
            w.endObject()
            // Newest first: the deliveries its last attempts were for.
            w.key("last_runs"); w.beginArray()
            for d in lastRuns[f.name] ?? [] { SpoolAdmin.writeSummary(d, into: &w) }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// An id as a file name: what a browser would refuse or a shell misread becomes `_`.
    static func fileName(_ id: String) -> String {
        String(id.prefix(100).map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "_" })
    }
}
