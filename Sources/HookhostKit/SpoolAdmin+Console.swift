import HookSupport
import HookSpool
import HookDispatch
import HookVerify

/// The operator views the console adds to the control socket's: pages of a large spool, one
/// delivery's purge, a function's output in full, dead letters by cause.
extension SpoolAdmin {
    /// `{"deliveries":[…],"matched":N,"next":CURSOR|null}`: newest first, at most `limit` below
    /// `before`, each as `GET /deliveries` lists it; `next` is the `before` of the next page.
    public func page(_ filter: DeliveryFilter, before: DeliveryCursor?, limit: Int) -> [UInt8] {
        let p = spool.page(filter, before: before, limit: limit)
        let waiting = WaitingReasons(functions: functions, paused: pauses.list)
        var w = JSONWriter(reserve: 256 + p.deliveries.count * 300)
        w.beginObject()
        w.key("deliveries")
        w.beginArray()
        for d in p.deliveries { SpoolAdmin.writeSummary(d, waiting: waiting.reason(d), into: &w) }
        w.endArray()
        w.field("matched", p.matched)
        w.field("next", optional: p.next?.text)
        w.endObject()
        return w.bytes
    }

    /// Deletes one finished delivery for good: `{"purged":1}`. An unfinished one is refused
    /// (409): it is about to run, and purging it would lose it.
    public func purge(_ id: String) -> Result<[UInt8], AdminError> {
        guard let d = spool.info(id) else { return .failure(.notFound(id)) }
        guard !d.state.isUnfinished else {
            return .failure(.conflict("\(id) is \(d.state.rawValue); only done, dead or skipped deliveries can be purged"))
        }
        do { return .success(SpoolAdmin.count("purged", try spool.forget([id]))) } catch {
            return .failure(.unavailable("spool cannot persist: \(error)"))
        }
    }

    /// A tag (an HTTP entity tag, quoted) that changes whenever `show(id)` would: the delivery's
    /// summary and result, and the summaries of the events below it — all from the index, not
    /// the body on disk, so a console polling a 32 MB delivery is told "not modified" without
    /// the 32 MB being read and sent again. Nil when the delivery is unknown.
    public func showTag(_ id: String) -> String? {
        guard let d = spool.info(id) else { return nil }
        var w = JSONWriter(reserve: 512)
        w.beginArray()
        SpoolAdmin.writeSummary(d, into: &w)
        w.int(d.attemptBase)
        if let r = d.result { w.string(r.uri); w.string(r.sha256); w.int(r.bytes); w.int(r.fetchMs ?? -1) } else { w.null() }
        for c in spool.chain(root: id) where c.id != id { SpoolAdmin.writeSummary(c, into: &w) }
        w.endArray()
        return "\"" + hexString(Array(Crypto.sha256(w.bytes).prefix(16))) + "\""
    }

    /// The JSON object the last run of `id` printed, whole (the delivery's page shows its start);
    /// nil when the delivery is unknown or no output was kept.
    public func output(_ id: String) -> [UInt8]? { spool.show(id)?.last?.output }

    /// `{"total":N,"groups":[{function,reason,count,oldest,newest,types,ids}]}`: the dead letters
    /// grouped by the function they were for and why they died, largest group first.
    public func deadGroups() -> [UInt8] {
        let dead = spool.list(DeliveryFilter(state: .dead))
        var w = JSONWriter(reserve: 512)
        w.beginObject()
        w.field("total", dead.count)
        w.key("groups"); w.beginArray()
        for g in DeadLetterGroups.group(dead) {
            w.beginObject()
            w.field("function", optional: g.function)
            w.field("reason", g.reason)
            w.field("count", g.count)
            w.field("oldest", formatTimestamp(g.oldest))
            w.field("newest", formatTimestamp(g.newest))
            w.key("types"); w.beginArray(); for t in g.types { w.string(t) }; w.endArray()
            w.key("ids"); w.beginArray(); for i in g.ids { w.string(i) }; w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Queues every dead letter of one group again, in one durable write: `{"replayed":N}`.
    public func replayDeadGroup(function: String?, reason: String) -> Result<[UInt8], AdminError> {
        let ids = DeadLetterGroups.members(function: function, reason: reason, of: spool.list(DeliveryFilter(state: .dead)))
        do { return .success(SpoolAdmin.count("replayed", try spool.replay(ids))) } catch {
            return .failure(.unavailable("spool cannot persist: \(error)"))
        }
    }
}
