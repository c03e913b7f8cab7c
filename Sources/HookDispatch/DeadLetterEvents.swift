import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Makes the `hookhost.dead` event of a dead letter, when a function takes such events (named
/// `hookhost.dead` or `hookhost`, or a route — never `_default`, which would turn every failure
/// into work for a catch-all). A dead `hookhost.*` delivery reports nothing: no loops.
public final class DeadLetterEvents: DeadLetterWatch {
    static let type = "hookhost.dead"
    let functions: FunctionResolver
    let logger: Logger

    init(functions: FunctionResolver, logger: Logger) {
        self.functions = functions
        self.logger = logger
    }

    public func deadEvent(for d: DeliveryInfo, change: StateChange) -> ChildDelivery? {
        guard !DeadLetterEvents.isHostEvent(d.type) else { return nil }
        let metadata = d.head?.userMetadata
        switch functions.route(type: DeadLetterEvents.type, userMetadata: d.head?.userMetadataJSON) {
        case .run(let f, _) where f.name != "_default": break
        case .conflict: break  // taken, by two: the event fails naming them, as any delivery would
        default: return nil
        }
        let e = DeadLetterEvents.event(for: d, change: change, metadata: metadata)
        logger.info("dead letter reported", ["id": .string(d.id), "event": .string(e.id)])
        return e
    }

    /// `hookhost` and its types are the host's own events.
    public static func isHostEvent(_ type: String) -> Bool { type == "hookhost" || type.hasPrefix("hookhost.") }

    /// The event: what died, how often it was tried, why, and its user_metadata (also at the top
    /// level, so routes by job group apply to it as to the delivery itself).
    static func event(for d: DeliveryInfo, change: StateChange, metadata: [UInt8]?) -> ChildDelivery {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", type)
        w.key("data"); w.beginObject()
        w.field("id", d.id); w.field("type", d.type)
        w.field("function", optional: change.function ?? d.function)
        w.field("attempts", change.attempt)
        w.field("reason", optional: change.error)
        w.field("died_at", formatTimestamp(change.at))
        w.key("user_metadata"); if let metadata { w.raw(metadata) } else { w.null() }
        w.endObject()
        if let metadata { w.key("user_metadata"); w.raw(metadata) }
        w.endObject()
        let chain = DeliveryHead.Chain(parent: d.id, root: d.head?.chain?.root ?? d.id, depth: (d.head?.chain?.depth ?? 0) + 1)
        return ChildDelivery(id: EmitFile.deadEventID(parent: d.id, attempt: change.attempt), type: type, body: w.bytes,
                             head: DeliveryHead(userMetadata: metadata, chain: chain), verifiedBy: .host)
    }
}
