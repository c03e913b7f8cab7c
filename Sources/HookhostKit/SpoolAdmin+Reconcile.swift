import HookSupport
import HookSpool

extension SpoolAdmin {
    /// `POST /deliveries/admit` with `{"events":[{"id":…,"body":"<the event's JSON as text>"}]}`:
    /// admits synthesized events (`hookhost reconcile --apply`), each checked by
    /// `SynthesizedEvent.check`; with `dryRun`, only says what each would meet. Answers
    /// `{"admitted":[…],"seen":[…],"failed":[…]}`, each entry `{id, type, job}` (`seen_as`: the
    /// synthesized event already there, empty for a real delivery; `error` for a failure).
    public func admitSynthesized(_ request: [UInt8], dryRun: Bool) -> Result<[UInt8], AdminError> {
        guard let doc = try? JSONParser.parse(request), case .array(let items)? = doc["events"] else {
            return .failure(.invalid("expected {\"events\":[{\"id\":…,\"body\":\"…\"}]}"))
        }
        var events: [SynthesizedEvent] = []
        for (i, item) in items.enumerated() {
            guard let id = item["id"]?.stringValue, let body = item["body"]?.stringValue else {
                return .failure(.invalid("events[\(i)]: needs a string id and a string body (the event's JSON)"))
            }
            switch SynthesizedEvent.check(id: id, body: Array(body.utf8)) {
            case .success(let e): events.append(e)
            case .failure(let r): return .failure(.invalid("events[\(i)]: \(r.message)"))
            }
        }
        guard spool.isWritable || dryRun else { return .failure(.unavailable("the spool is not writable")) }
        // A draining replica runs nothing new and has handed its work over (or will): an event
        // admitted now would wait for a restart that may never come. A report is still answered.
        if !dryRun, draining?() == true {
            return .failure(.unavailable("the host is draining: it takes no deliveries and would not run these; run hookhost reconcile --apply against a replica that takes deliveries"))
        }
        let outcomes = dryRun ? ReconcileAdmission.preview(events, in: spool)
                              : ReconcileAdmission.admit(events, into: spool, reporting: reconcileReporting)
        return .success(SpoolAdmin.admissionAnswer(events, outcomes))
    }

    static func admissionAnswer(_ events: [SynthesizedEvent], _ outcomes: [ReconcileAdmission.Outcome]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        for (name, pick) in [("admitted", 0), ("seen", 1), ("failed", 2)] {
            w.key(name); w.beginArray()
            for (e, o) in zip(events, outcomes) {
                switch (o, pick) {
                case (.admitted, 0): entry(e, into: &w) { _ in }
                case (.seen(let by), 1): entry(e, into: &w) { $0.field("seen_as", by) }
                case (.failed(let why), 2): entry(e, into: &w) { $0.field("error", why) }
                default: break
                }
            }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }

    private static func entry(_ e: SynthesizedEvent, into w: inout JSONWriter, _ extra: (inout JSONWriter) -> Void) {
        w.beginObject(); w.field("id", e.id); w.field("type", e.type); w.field("job", e.job); extra(&w); w.endObject()
    }
}
