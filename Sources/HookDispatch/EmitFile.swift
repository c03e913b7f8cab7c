import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Limits on the follow-up events one run may emit (`HOOKHOST_EMIT`).
public struct EmitLimits: Sendable, Equatable {
    /// Events per run (`HOOKHOST_MAX_EMIT`).
    public var maxEvents = 10_000
    /// Generations below an outside delivery (`HOOKHOST_MAX_DEPTH`).
    public var maxDepth = 8
    /// One event's body, as for a delivery (`HOOKHOST_MAX_BODY`).
    public var maxEventBytes = 1 << 20
    /// The whole file: the children and the parent's outcome are committed as one spool record.
    public static let maxFileBytes = 32 << 20
    /// Families that belong to Gemini or to the host itself: emitting them would fake their events.
    public static let reservedFamilies: Set<String> = ["batch", "video", "interaction", "hookhost"]

    public init() {}
}

/// Why a run's emitted events were refused: the run fails with this as its reason.
public struct EmitError: Error, Equatable, CustomStringConvertible {
    /// The 1-based line it is about, if one.
    public let line: Int?
    public let message: String
    public var description: String {
        "emitted events refused (nothing emitted): " + (line.map { "\(EmitFile.name) line \($0): " } ?? "") + message
    }
}

/// Reads the file a function wrote its follow-up events to: one JSON object per line,
/// `{"type": …, "data": {…}, "user_metadata": {…}}`. Pure: bytes and the parent in, children out.
public enum EmitFile {
    /// The file's name in the run's work directory (its path is `HOOKHOST_EMIT`).
    public static let name = "emit.jsonl"

    /// The children of `parent` (id, head) the bytes describe, in line order; all or nothing.
    public static func parse(_ bytes: [UInt8], parentID: String, parentHead: DeliveryHead, limits: EmitLimits) throws(EmitError) -> [ChildDelivery] {
        guard bytes.count <= EmitLimits.maxFileBytes else {
            throw EmitError(line: nil, message: "the file is larger than \(EmitLimits.maxFileBytes >> 20) MiB")
        }
        let depth = (parentHead.chain?.depth ?? 0) + 1
        let root = parentHead.chain?.root ?? parentID
        var children: [ChildDelivery] = []
        var committed = 0  // spool bytes of the children so far (see `ChildDelivery.maxCommitBytes`)
        var line = 0
        var start = 0
        while start < bytes.count {
            line += 1
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            defer { start = end + 1 }
            var text = bytes[start..<end]
            if text.last == 0x0D { text = text.dropLast() }
            guard text.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            if children.count == limits.maxEvents {
                throw EmitError(line: line, message: "more than \(limits.maxEvents) events (HOOKHOST_MAX_EMIT)")
            }
            if depth > limits.maxDepth {
                throw EmitError(line: line, message: "the chain would be \(depth) deep; HOOKHOST_MAX_DEPTH is \(limits.maxDepth)")
            }
            // Before parsing: one line of 32 MiB of `1,` is a tree of about a gigabyte in memory,
            // only to be refused for its size afterwards.
            guard text.count <= limits.maxEventBytes else {
                throw EmitError(line: line, message: "the line is \(text.count) bytes; an event may have at most \(limits.maxEventBytes) (HOOKHOST_MAX_BODY)")
            }
            let c = try child(Array(text), line: line, parentID: parentID, parentHead: parentHead,
                              chain: .init(parent: parentID, root: root, depth: depth), limits: limits)
            // Inherited user_metadata is not in the file: 10 000 copies of a large one would
            // not fit in one spool record (and would fill memory first).
            committed += c.recordBytes
            guard committed <= ChildDelivery.maxCommitBytes else {
                throw EmitError(line: line, message: "the events up to this line take \(committed >> 20) MiB in the spool (user_metadata included, "
                                    + "inherited or not); at most \(ChildDelivery.maxCommitBytes >> 20) MiB are stored with a run's outcome")
            }
            children.append(c)
        }
        return children
    }

    /// A child's id: the parent's and the line, so a parent that runs again (after a crash, or
    /// replayed) emits the same ids and dedup keeps each child single. Outside deliveries may
    /// not use such ids (see `isChildID`).
    public static func childID(parent: String, line: Int) -> String { "\(parent)\(separator)\(line)" }

    /// The id of the `hookhost.dead` event of `parent`'s death at `attempt`: one per death, the
    /// same if the commit is redone.
    public static func deadEventID(parent: String, attempt: Int) -> String { "\(parent)~d\(attempt)" }

    /// Between a parent's id and a child's line number: no `/`, so ids stay usable as file names.
    public static let separator = "~e"

    /// Whether `id` has the shape of a child's id (`…~e<line>`, or `…~d<attempt>` for a
    /// `hookhost.dead` event): refused for outside deliveries, so none can take the id a child
    /// will have and be mistaken for it.
    public static func isChildID(_ id: String) -> Bool {
        guard let tilde = id.utf8.lastIndex(of: UInt8(ascii: "~")) else { return false }
        let tail = id.utf8[id.utf8.index(after: tilde)...]
        guard tail.first == UInt8(ascii: "e") || tail.first == UInt8(ascii: "d"), tail.count > 1 else { return false }
        return tail.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func child(_ text: [UInt8], line: Int, parentID: String, parentHead: DeliveryHead, chain: DeliveryHead.Chain,
                              limits: EmitLimits) throws(EmitError) -> ChildDelivery {
        let json: JSON
        do { json = try JSONParser.parse(text) } catch { throw EmitError(line: line, message: "not JSON: \(error)") }
        guard case .object(let members) = json else { throw EmitError(line: line, message: "not a JSON object") }
        var type: String?
        var data: ArraySlice<UInt8>?
        var metadata: [UInt8]?? = .none  // absent: the parent's
        var seen = Set<String>()
        for m in members {
            // A key twice would be read one way here and another by the function (most JSON
            // readers keep the last, routes the first): refused rather than picked.
            guard seen.insert(m.key).inserted else { throw EmitError(line: line, message: "key \"\(m.key.prefix(64))\" appears twice") }
            switch m.key {
            case "type":
                guard let t = m.value.stringValue else { throw EmitError(line: line, message: "\"type\" must be a string") }
                type = t
            case "data":
                guard m.value.isObject else { throw EmitError(line: line, message: "\"data\" must be an object") }
                data = text[m.valueRange]
            case "user_metadata":
                switch m.value {
                case .null: metadata = .some(nil)
                case .object:
                    if let key = repeatedKey(in: m.value) {
                        throw EmitError(line: line, message: "user_metadata holds the key \"\(key.prefix(64))\" twice in one object")
                    }
                    metadata = .some(Array(text[m.valueRange]))
                default: throw EmitError(line: line, message: "\"user_metadata\" must be an object or null")
                }
            default:
                throw EmitError(line: line, message: "unknown key \"\(m.key.prefix(64))\" (allowed: type, data, user_metadata)")
            }
        }
        guard let type else { throw EmitError(line: line, message: "no \"type\"") }
        guard EventType.isValid(type), EventType.canonical(type) == type else {
            throw EmitError(line: line, message: "type is not a plain dotted name of at most \(EventType.maxLength) bytes")
        }
        // Whatever its case: `Batch.succeeded` is no name Gemini sends, yet a functions directory
        // on a case-insensitive filesystem (a macOS bind mount) finds `batch.succeeded` for it.
        let family = String(type.prefix { $0 != "." }).lowercased()
        guard !EmitLimits.reservedFamilies.contains(family) else {
            throw EmitError(line: line, message: "type \(type) is in the \(family) family, which only \(family == "hookhost" ? "the host" : "Gemini") sends")
        }
        let userMetadata = metadata ?? parentHead.userMetadata
        var w = JSONWriter(reserve: text.count + (userMetadata?.count ?? 0) + 32)
        w.beginObject()
        w.field("type", type)
        w.key("data"); if let data { w.raw(data) } else { w.beginObject(); w.endObject() }
        if let userMetadata { w.key("user_metadata"); w.raw(userMetadata[...]) }
        w.endObject()
        guard w.bytes.count <= limits.maxEventBytes else {
            throw EmitError(line: line, message: "the event is \(w.bytes.count) bytes; HOOKHOST_MAX_BODY is \(limits.maxEventBytes)")
        }
        let head = DeliveryHead(userMetadata: userMetadata, job: nil, result: nil, chain: chain)
        return ChildDelivery(id: childID(parent: parentID, line: line), type: type, body: w.bytes, head: head)
    }

    /// A key some object inside `json` holds twice (as Swift compares strings, as routes look
    /// keys up), if any.
    static func repeatedKey(in json: JSON) -> String? {
        switch json {
        case .object(let members):
            var seen = Set<String>()
            for m in members {
                if !seen.insert(m.key).inserted { return m.key }
                if let k = repeatedKey(in: m.value) { return k }
            }
            return nil
        case .array(let items):
            for item in items { if let k = repeatedKey(in: item) { return k } }
            return nil
        default:
            return nil
        }
    }
}
