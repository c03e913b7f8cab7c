import Dispatch
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch
/// Operator views and actions on a spool, as JSON: shared by the control socket (server running)
/// and the CLI's direct path (server stopped), so both give identical answers.
public struct SpoolAdmin: Sendable {
    public let spool: any DeliveryStorage
    public let functions: FunctionTable
    /// The paused functions (the running host's, or the data directory's file with it stopped).
    public let pauses: FunctionPauses
    /// Where events admitted by `POST /deliveries/admit` are counted and logged.
    public var reconcileReporting = ReconcileAdmission.Reporting()
    /// Whether the running host is draining (`hookhost drain`): it then admits no synthesized
    /// event, as it takes no delivery (nil: never, the CLI's direct path).
    public var draining: (@Sendable () -> Bool)?

    public init(spool: any DeliveryStorage, functions: FunctionTable, pauses: FunctionPauses = FunctionPauses()) {
        self.spool = spool
        self.functions = functions
        self.pauses = pauses
    }

    /// `{"deliveries":[…]}` selected by `filter` (state, type and its family, function, arrival
    /// time), oldest first; `limit` keeps the newest `limit` of them. `root`: only that delivery's
    /// pipeline (itself and what was emitted below it), by depth; nil when no delivery has that id
    /// and none was emitted below one that had (a typo must not look like an empty pipeline).
    public func list(_ filter: DeliveryFilter, limit: Int? = nil, root: String? = nil) -> [UInt8]? {
        let chain = root.map { spool.chain(root: $0) }
        if chain?.isEmpty == true { return nil }
        var items = chain?.filter(filter.matches) ?? spool.list(filter)
        if let limit, items.count > limit { items.removeFirst(items.count - limit) }
        let waiting = WaitingReasons(functions: functions, paused: pauses.list)
        var w = JSONWriter()
        w.beginObject()
        w.key("deliveries")
        w.beginArray()
        for d in items { SpoolAdmin.writeSummary(d, waiting: waiting.reason(d), into: &w) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Queues the finished deliveries `filter` selects again, in one durable write:
    /// `{"replayed": n}`. The filter must name a finished state (done, dead, skipped).
    public func replay(_ filter: DeliveryFilter) -> Result<[UInt8], AdminError> {
        guard filter.state.map({ !$0.isUnfinished && $0 != .handedOver }) == true else {
            return .failure(.invalid("replay takes state=dead, done or skipped (unfinished deliveries run anyway; handed_over ones belong to the replica that took them)"))
        }
        do { return .success(SpoolAdmin.count("replayed", try spool.replay(spool.list(filter).map(\.id)))) } catch {
            return .failure(.unavailable("spool cannot persist: \(error)"))
        }
    }

    /// Deletes the finished deliveries `filter` selects for good, in one durable write:
    /// `{"purged": n}`. Never an unfinished one: the filter must name a finished state.
    public func purge(_ filter: DeliveryFilter) -> Result<[UInt8], AdminError> {
        guard filter.state.map({ !$0.isUnfinished }) == true else {
            return .failure(.invalid("purge takes state=dead, done, skipped or handed_over (unfinished deliveries cannot be purged)"))
        }
        do { return .success(SpoolAdmin.count("purged", try spool.forget(spool.list(filter).map(\.id)))) } catch {
            return .failure(.unavailable("spool cannot persist: \(error)"))
        }
    }

    /// The full record: summary, the stdin the function got (for the last attempt), outputs. Nil if unknown.
    public func show(_ id: String) -> [UInt8]? {
        guard let (d, body, jwt, last) = spool.show(id) else { return nil }
        var w = JSONWriter(reserve: body.count * 2 + 512)
        w.beginObject()
        w.key("delivery"); SpoolAdmin.writeSummary(d, into: &w)
        // A finished delivery kept compact has no head in memory: read from the body for this view.
        let head = d.head ?? DeliveryHead.derive(body: body)?.head
        // The result the last run read (kept in its outcome record), else the one downloaded for
        // the next run.
        // A signed URL's query (its signature) is not shown, here as in logs.
        var result = last?.result ?? d.result
        if let uri = result?.uri { result?.uri = URLRedaction.withoutQuery(uri) }
        let stdin = FunctionInput.encode(id: d.id, attempt: max(d.attempt, 1), receivedAt: d.receivedAt, verifiedBy: d.verifiedBy, jwt: jwt,
                                         chain: head?.chain, type: d.type, body: body, userMetadata: head?.userMetadata?[...], result: result)
        w.key("stdin"); w.raw(stdin.dropLast())
        w.key("download")
        if let r = result {
            w.beginObject()
            w.field("uri", URLRedaction.withoutQuery(r.uri)); w.field("bytes", r.bytes); w.field("sha256", r.sha256)
            w.key("ms"); if let ms = r.fetchMs { w.int(ms) } else { w.null() }
            w.endObject()
        } else {
            w.null()
        }
        w.key("last")
        if let s = last {
            w.beginObject()
            w.field("state", s.state.rawValue); w.field("attempt", s.attempt); w.field("at", formatTimestamp(s.at))
            w.field("function", optional: s.function); w.field("error", optional: s.error)
            w.key("exit_code"); if let x = s.exitCode { w.int(x) } else { w.null() }
            w.key("ms"); if let m = s.durationMs { w.int(m) } else { w.null() }
            w.key("output"); if let o = s.output { w.raw(o) } else { w.null() }
            w.field("stdout_head", optional: s.stdoutHead)
            w.field("stderr", optional: s.stderrTail)
            w.endObject()
        } else {
            w.null()
        }
        w.key("attempts")
        w.beginArray()
        for a in spool.attempts(id) { SpoolAdmin.writeAttempt(a, into: &w) }
        w.endArray()
        // The pipeline around it: where it came from, and what its runs emitted.
        w.field("parent", optional: d.head?.chain?.parent)
        w.key("children")
        w.beginArray()
        // By bytes, as ids are compared everywhere: `é`'s children are not `e\u{301}`'s.
        for c in spool.chain(root: id) where c.head?.chain.map({ ExactKey($0.parent) == ExactKey(id) }) ?? false {
            SpoolAdmin.writeSummary(c, into: &w)
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// How one attempt ended: when it started (its end minus its duration), how long it ran, and
    /// what it left (exit code, error, stdout head, stderr tail).
    static func writeAttempt(_ s: StateChange, into w: inout JSONWriter) {
        w.beginObject()
        w.field("attempt", s.attempt); w.field("state", s.state.rawValue)
        w.field("started_at", optional: s.durationMs.map { formatTimestamp(s.at - Double($0) / 1000) })
        w.field("ended_at", formatTimestamp(s.at))
        w.key("ms"); if let m = s.durationMs { w.int(m) } else { w.null() }
        w.field("function", optional: s.function)
        w.key("exit_code"); if let x = s.exitCode { w.int(x) } else { w.null() }
        w.field("error", optional: s.error)
        w.field("next_at", optional: s.nextAt.map(formatTimestamp))
        w.field("stdout_head", optional: s.stdoutHead)
        w.field("stderr", optional: s.stderrTail)
        w.endObject()
    }

    /// `{"replayed": n}` for one id; nil if unknown, an error message if it cannot be replayed now.
    /// A delivery still unfinished is not an error: it runs anyway, so the answer is
    /// `{"replayed": 0, "state": …, "message": …}` and the operator's intent is met.
    public func replay(_ id: String) -> Result<[UInt8], AdminError> {
        guard let d = spool.info(id) else { return .failure(.notFound(id)) }
        if d.state.isUnfinished {
            let running = d.state == .running || d.state == .fetching || d.state == .fetched
            var w = JSONWriter()
            w.beginObject(); w.field("replayed", 0); w.field("state", d.state.rawValue)
            w.field("message", "\(id) is \(running ? "running" : "queued") (\(d.state.rawValue)); it will run anyway")
            w.endObject()
            return .success(w.bytes)
        }
        if d.state == .handedOver {
            return .failure(.conflict("\(id) was handed over to another replica (\(d.lastError ?? "")); replay it there"))
        }
        guard spool.replay(id) else { return .failure(.conflict("\(id) could not be queued")) }
        return .success(SpoolAdmin.count("replayed", 1))
    }

    /// The status with no host running: the spool and the functions directory, and that it is not running.
    public func offlineStatus() -> StatusReport {
        var r = StatusReport()
        r.at = spool.clock.now()
        r.problems = ["not running: no hookhost serve holds this data directory"]
        r.addSpool(spool, now: r.at)
        r.addFunctions(functions)
        return r
    }

    public func retryDead(type: String?) -> Result<[UInt8], AdminError> { replay(DeliveryFilter(state: .dead, type: type)) }
    public func purgeDead(type: String?) -> Result<[UInt8], AdminError> { purge(DeliveryFilter(state: .dead, type: type)) }

    static func count(_ key: String, _ n: Int) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject(); w.field(key, n); w.endObject()
        return w.bytes
    }

    /// `waiting`: why it waits now without running, if it does ("paused").
    static func writeSummary(_ d: DeliveryInfo, waiting: String? = nil, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", d.id)
        w.field("type", d.type)
        w.field("state", d.state.rawValue)
        w.field("attempt", d.attempt)
        w.field("received_at", formatTimestamp(d.receivedAt))
        w.field("updated_at", formatTimestamp(d.updatedAt))
        w.field("next_at", optional: d.nextAt.map(formatTimestamp))
        w.field("function", optional: d.function)
        w.field("error", optional: d.lastError)
        w.field("verified_by", d.verifiedBy.rawValue)
        w.field("waiting", optional: waiting)
        if let c = d.head?.chain {
            w.field("parent", c.parent); w.field("root", c.root); w.field("depth", c.depth)
        }
        w.endObject()
    }
}

/// Why an operator action failed.
public enum AdminError: Error, Equatable {
    /// No delivery with this id.
    case notFound(String)
    /// No function of this name (the message says where it was looked for).
    case noFunction(String)
    case conflict(String)
    /// The request asks for something the action does not do.
    case invalid(String)
    /// It could not be made durable; nothing changed.
    case unavailable(String)
}
