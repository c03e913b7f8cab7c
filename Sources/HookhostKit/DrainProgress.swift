import HookSupport

/// Where a drain is (`GET /drain`, `hookhost drain`): counts of deliveries by what happens to them.
public struct DrainProgress: Sendable, Equatable {
    /// A drain was started (the host refuses deliveries from then on).
    public var draining = false
    /// Where deliveries go (the URL without its query); nil: no hand-over, the rest stays.
    public var handover: String?
    /// Functions and downloads under way.
    public var running = 0
    /// Deliveries allowed to finish here that are due and not started yet.
    public var due = 0
    /// Deliveries queued for the peer and not sent yet (or being sent).
    public var toHandOver = 0
    public var handedOver = 0
    /// Hand-overs that did not succeed (they stay in this host's spool).
    public var failed = 0
    /// Unfinished deliveries still in this host's spool once the drain is done.
    public var left = 0
    public var done = false
    /// Whether the drain did all it was asked to (see `hookhost drain`'s exit code).
    public var ok = false
    /// Why something was left, when it was.
    public var reason: String?

    public init() {}

    public var json: [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("draining", draining)
        w.field("handover", optional: handover)
        w.field("running", running); w.field("due", due); w.field("to_hand_over", toHandOver)
        w.field("handed_over", handedOver); w.field("failed", failed); w.field("left", left)
        w.field("done", done); w.field("ok", ok)
        w.field("reason", optional: reason)
        w.endObject()
        return w.bytes
    }

    public init?(json bytes: [UInt8]) {
        guard let j = try? JSONParser.parse(bytes), j.isObject, let draining = j["draining"]?.boolValue else { return nil }
        self.draining = draining
        handover = j["handover"]?.stringValue
        running = j["running"]?.intValue ?? 0
        due = j["due"]?.intValue ?? 0
        toHandOver = j["to_hand_over"]?.intValue ?? 0
        handedOver = j["handed_over"]?.intValue ?? 0
        failed = j["failed"]?.intValue ?? 0
        left = j["left"]?.intValue ?? 0
        done = j["done"]?.boolValue ?? false
        ok = j["ok"]?.boolValue ?? false
        reason = j["reason"]?.stringValue
    }

    /// One line for people.
    public var text: String {
        var s = "running \(running), due \(due)"
        if handover != nil { s += ", to hand over \(toHandOver), handed over \(handedOver), failed \(failed)" }
        if done { s += "; done: \(left) unfinished left here" }
        return s
    }
}
