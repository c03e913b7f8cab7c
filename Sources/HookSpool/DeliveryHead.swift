import CSys
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// What admission learned from a delivery's body, stored with its record: the workers, the fetch
/// stage and the router read this, and nothing after admission parses the body again.
public struct DeliveryHead: Sendable, Equatable {
    /// The event's `user_metadata`, bytes as sent (routing and stdin); nil when it has none.
    public var userMetadata: [UInt8]?
    /// The job the event is about (`data.id`: a batch, interaction or operation name).
    public var job: String?
    /// What the host downloads for it (see `ResultLocator`), if anything.
    public var result: String?
    /// Where an emitted event comes from; nil for a delivery from outside.
    public var chain: Chain?

    /// An emitted event's place in its pipeline.
    public struct Chain: Sendable, Equatable {
        /// The delivery whose run emitted it.
        public var parent: String
        /// The outside delivery the pipeline began with.
        public var root: String
        /// 1 for a child of an outside delivery, one more per generation.
        public var depth: Int

        public init(parent: String, root: String, depth: Int) {
            self.parent = parent; self.root = root; self.depth = depth
        }
    }

    public init(userMetadata: [UInt8]? = nil, job: String? = nil, result: String? = nil, chain: Chain? = nil) {
        self.userMetadata = userMetadata; self.job = job; self.result = result; self.chain = chain
    }

    /// The `user_metadata` parsed (it was valid JSON inside a valid body); nil when there is none.
    public var userMetadataJSON: JSON? { userMetadata.flatMap { try? JSONParser.parse($0) } }

    /// The head of a parsed event (`type` already canonical).
    public static func derive(type: String, event: JSON, body: [UInt8]) -> DeliveryHead {
        var h = DeliveryHead()
        h.userMetadata = userMetadataRange(in: event).map { Array(body[$0]) }
        if let id = event["data"]?["id"]?.stringValue, !id.isEmpty { h.job = id }
        h.result = ResultLocator.reference(type: type, event: event)
        return h
    }

    /// Where the event's user_metadata lies in its body: `data.user_metadata`, then top-level
    /// `user_metadata` (ranges are absolute in the parsed bytes).
    public static func userMetadataRange(in event: JSON) -> Range<Int>? {
        if let m = event["data"]?.member("user_metadata"), m.value != .null { return m.valueRange }
        if let m = event.member("user_metadata"), m.value != .null { return m.valueRange }
        return nil
    }

    /// The canonical type and head of a stored body (records written before heads existed);
    /// nil when the body is not a JSON object with a string type.
    public static func derive(body: [UInt8]) -> (type: String, head: DeliveryHead)? {
        guard let event = try? JSONParser.parse(body), event.isObject, let sent = event["type"]?.stringValue else { return nil }
        let type = EventType.canonical(sent)
        return (type, derive(type: type, event: event, body: body))
    }

    /// Written into the delivery record's metadata after its fixed fields: flat strings and
    /// numbers, so the fast decoder reads it. The user_metadata is where it lies in `body` (its
    /// offset and length: always so for a delivery, whose head was read from its body, and for
    /// an emitted event, whose body carries it); else base64url (any nesting or bytes). Once,
    /// not twice: a 28 MiB user_metadata in a 32 MiB body, copied into the metadata too, made a
    /// record over the 64 MiB a frame holds, acknowledged and then lost at the next start.
    func write(into w: inout JSONWriter, body: [UInt8]) {
        w.field("h", 1)
        if let um = userMetadata {
            if let at = DeliveryHead.offset(of: um, in: body) {
                w.field("umo", at); w.field("uml", um.count)
            } else {
                w.field("um", Base64.encode(um, urlSafe: true))
            }
        }
        if let job { w.field("job", job) }
        if let result { w.field("res", result) }
        if let c = chain { w.field("par", c.parent); w.field("root", c.root); w.field("dep", c.depth) }
    }

    /// Where `um` first occurs in `body` (any occurrence holds the same bytes), if it does.
    static func offset(of um: [UInt8], in body: [UInt8]) -> Int? {
        guard !um.isEmpty, um.count <= body.count else { return nil }
        let at = body.withUnsafeBytes { b in um.withUnsafeBytes { n in hh_memmem(b.baseAddress, b.count, n.baseAddress, n.count) } }
        return at >= 0 ? at : nil
    }

    /// The user_metadata at `offset`/`length` in a record's body; nil when that is outside it.
    static func userMetadata(at offset: Double, length: Double, in body: ArraySlice<UInt8>) -> [UInt8]? {
        guard offset >= 0, length >= 0, offset == offset.rounded(), length == length.rounded(),
              offset + length <= Double(body.count) else { return nil }
        let from = body.startIndex + Int(offset)
        return Array(body[from..<(from + Int(length))])
    }

    /// Reads what `write` wrote from parsed metadata and the record's body; nil when the record
    /// has no head (older).
    init?(meta: JSON, body: ArraySlice<UInt8>) {
        guard meta["h"] != nil else { return nil }
        self.init()
        if let um = meta["um"]?.stringValue { userMetadata = Base64.decode(um) }
        if let at = meta["umo"]?.doubleValue, let n = meta["uml"]?.doubleValue {
            userMetadata = DeliveryHead.userMetadata(at: at, length: n, in: body)
        }
        job = meta["job"]?.stringValue
        result = meta["res"]?.stringValue
        if let p = meta["par"]?.stringValue, let r = meta["root"]?.stringValue, let d = meta["dep"]?.intValue {
            chain = Chain(parent: p, root: r, depth: d)
        }
    }
}
