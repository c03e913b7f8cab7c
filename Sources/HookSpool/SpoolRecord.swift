import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// One entry of the append-only spool log (pure encoding; no I/O).
///
/// Frame: `magic u32 | length u32 | crc32c u32 | payload`, little-endian, where the CRC covers the
/// length field and the payload, and the payload is `metaLength u32 | meta JSON | body bytes`.
/// A torn or corrupted frame fails the CRC and is skipped on recovery.
public enum SpoolRecord: Sendable, Equatable {
    /// A new delivery, with the raw body exactly as received (and the JWT key and claims it was
    /// verified with, if any, and what admission read from the body: nil in records written
    /// before heads existed).
    case delivery(id: String, type: String, receivedAt: Double, verifiedBy: VerifiedBy, body: [UInt8], jwt: JWTIdentity? = nil,
                  head: DeliveryHead? = nil)
    /// A state change.
    case state(StateChange)
    /// An id remembered only for dedup (its delivery was pruned).
    case seen(id: String, at: Double)
    /// The delivery was purged by an operator.
    case forget(id: String)
    /// A job completion admitted within the dedup TTL (`JobIndex`), kept by compaction after
    /// its delivery's own record went.
    case job(JobMark)
    /// A JWT bound to the delivery it first came with (the replay memory), until it expires.
    case token(TokenUse)
    /// Written by the disk probe; carries nothing.
    case noop
    /// Records committed together: one frame, one CRC, so after a crash either all of them are
    /// there or none (a parent's `done` with the events its run emitted). Each inner record is a
    /// whole frame of its own inside the body, so a reference to it reads like any other record.
    case batch([Nested])

    /// A record inside a batch, at `offset` bytes from the start of the batch's frame.
    public struct Nested: Sendable, Equatable {
        public var offset: Int
        public var length: Int
        public var record: SpoolRecord
    }

    /// A batch of `records` (no batches among them), with where each one lands in its frame.
    static func batch(of records: [SpoolRecord]) -> SpoolRecord {
        let meta = batchMeta(count: records.count)
        var at = headerSize + 4 + meta.count
        return .batch(records.map { r in
            let n = r.encoded().count
            defer { at += n }
            return Nested(offset: at, length: n, record: r)
        })
    }

    static func batchMeta(count: Int) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject(); w.field("k", "b"); w.field("n", count); w.endObject()
        return w.bytes
    }

    static let magic: UInt32 = 0x314B_4848  // "HHK1"
    /// A frame inside a batch: the scanner's resync looks for `magic` only, so a damaged batch
    /// never yields part of its records.
    static let nestedMagic: UInt32 = 0x624B_4848  // "HHKb"
    static let headerSize = 12
    static let maxPayload = 64 << 20

    /// The framed bytes for the log.
    public func encoded() -> [UInt8] { encoded(magic: SpoolRecord.magic) }

    /// The frame with `magic` (`nestedMagic` inside a batch; the CRC does not cover the magic,
    /// so compaction turns a nested frame it copies out into a plain one by changing only that).
    func encoded(magic: UInt32) -> [UInt8] {
        var out = encodedPlain()
        if magic != SpoolRecord.magic { SpoolRecord.setMagic(magic, in: &out) }
        return out
    }

    /// A frame read at a reference, as a record of the log's own (nested ones lose their batch's magic).
    static func standalone(_ frame: [UInt8]) -> [UInt8] {
        guard frame.count >= 4, readLE(frame[...], at: 0) == nestedMagic else { return frame }
        var f = frame
        setMagic(magic, in: &f)
        return f
    }

    static func setMagic(_ magic: UInt32, in frame: inout [UInt8]) {
        var m: [UInt8] = []
        appendLE(magic, to: &m)
        frame.replaceSubrange(0..<4, with: m)
    }

    private func encodedPlain() -> [UInt8] {
        if case .batch(let inner) = self {
            var body: [UInt8] = []
            for n in inner { body += n.record.encoded(magic: SpoolRecord.nestedMagic) }
            return SpoolRecord.frame(meta: SpoolRecord.batchMeta(count: inner.count), body: body)
        }
        let (meta, body) = parts()
        return SpoolRecord.frame(meta: meta, body: body)
    }

    /// The bytes `encoded()` makes, counted without making them (no copy of the body, no CRC).
    public var encodedCount: Int {
        if case .batch(let inner) = self {
            return SpoolRecord.headerSize + 4 + SpoolRecord.batchMeta(count: inner.count).count + inner.reduce(0) { $0 + $1.record.encodedCount }
        }
        let (meta, body) = parts()
        return SpoolRecord.headerSize + 4 + meta.count + body.count
    }

    /// The metadata and the body of a record that is not a batch.
    private func parts() -> (meta: [UInt8], body: [UInt8]) {
        var meta = JSONWriter(reserve: 128)
        var body: [UInt8] = []
        meta.beginObject()
        switch self {
        case .delivery(let id, let type, let at, let vb, let b, let jwt, let head):
            meta.field("k", "d"); meta.field("id", id); meta.field("type", type)
            meta.key("at"); meta.double(at); meta.field("vb", vb.rawValue)
            if let jwt {
                // Claims as base64url text: whatever their nesting or bytes, the record's
                // metadata stays shallow, plain ASCII JSON that recovery always parses.
                meta.field("kid", jwt.keyID); meta.field("cl", Base64.encode(jwt.claims, urlSafe: true))
            }
            head?.write(into: &meta, body: b)
            body = b
        case .state(let s):
            s.write(into: &meta)
        case .seen(let id, let at):
            meta.field("k", "seen"); meta.field("id", id); meta.key("at"); meta.double(at)
        case .forget(let id):
            meta.field("k", "forget"); meta.field("id", id)
        case .job(let mark):
            mark.write(into: &meta)
        case .token(let u):
            meta.field("k", "tok"); meta.field("h", Base64.encode(u.digest.bytes, urlSafe: true)); meta.field("id", u.id)
            meta.key("until"); meta.double(u.until)
        case .noop:
            meta.field("k", "noop")
        case .batch:
            break  // framed above
        }
        meta.endObject()
        return (meta.bytes, body)
    }

    /// `magic | length | crc | metaLength | meta | body`.
    static func frame(meta: [UInt8], body: [UInt8]) -> [UInt8] {
        var payload: [UInt8] = []
        payload.reserveCapacity(4 + meta.count + body.count)
        appendLE(UInt32(meta.count), to: &payload)
        payload += meta
        payload += body
        var frame: [UInt8] = []
        frame.reserveCapacity(SpoolRecord.headerSize + payload.count)
        appendLE(SpoolRecord.magic, to: &frame)
        var len: [UInt8] = []
        appendLE(UInt32(payload.count), to: &len)
        frame += len
        appendLE(CRC32C.checksum(payload, seed: CRC32C.checksum(len)), to: &frame)
        frame += payload
        return frame
    }

    /// Decodes a payload (the frame already checked). Without `bodies`, a delivery comes back with
    /// an empty body and no JWT identity: what recovery needs, without a copy of every body.
    static func decode(payload: ArraySlice<UInt8>, bodies: Bool = true) -> SpoolRecord? {
        guard payload.count >= 4 else { return nil }
        let metaLen = Int(readLE(payload, at: payload.startIndex))
        let metaStart = payload.startIndex + 4
        guard metaLen <= payload.count - 4 else { return nil }
        let meta = payload[metaStart..<(metaStart + metaLen)]
        if meta.starts(with: #"{"k":"b","#.utf8) {
            return decodeBatch(meta: meta, body: payload[(metaStart + metaLen)...], bodies: bodies)
        }
        // The body's bytes are read even without `bodies`: a head's user_metadata lies in them.
        let stored = payload[(metaStart + metaLen)...]
        let body = bodies ? Array(stored) : []
        return decodeCommon(meta: meta, body: body, bodies: bodies, stored: stored)
            ?? decodeParsed(meta: Array(meta), body: body, bodies: bodies, stored: stored)
    }

    /// The inner frames of a batch (each checked like any frame); nil if any is damaged or a
    /// batch itself, or the count disagrees: the batch's own CRC passed, so that is not a torn
    /// write but a record this version does not understand.
    static func decodeBatch(meta: ArraySlice<UInt8>, body: ArraySlice<UInt8>, bodies: Bool) -> SpoolRecord? {
        guard let m = try? JSONParser.parse(Array(meta)), let n = m["n"]?.intValue, n >= 0 else { return nil }
        let bytes = Array(body)
        let base = headerSize + 4 + meta.count
        var inner: [Nested] = []
        var pos = 0
        while pos < bytes.count {
            guard readLE(bytes[...], at: pos) == nestedMagic, let (len, rec) = SpoolScanner.frame(at: pos, in: bytes, bodies: bodies, nested: true)
            else { return nil }
            if case .batch = rec { return nil }
            inner.append(Nested(offset: base + pos, length: headerSize + len, record: rec))
            pos += headerSize + len
        }
        return inner.count == n ? .batch(inner) : nil
    }

    /// Any record, through the JSON parser (what `decodeCommon` must always agree with).
    /// `stored`: the record's body as written (`body` is empty without `bodies`); nil: `body`.
    static func decodeParsed(meta bytes: [UInt8], body: [UInt8], bodies: Bool, stored: ArraySlice<UInt8>? = nil) -> SpoolRecord? {
        guard let meta = try? JSONParser.parse(bytes) else { return nil }
        switch meta["k"]?.stringValue {
        case "d":
            guard let id = meta["id"]?.stringValue, let type = meta["type"]?.stringValue,
                  let at = meta["at"]?.doubleValue, let vb = VerifiedBy(rawValue: meta["vb"]?.stringValue ?? "") else { return nil }
            // Records written before JWT support have neither field.
            var jwt: JWTIdentity?
            if bodies, let kid = meta["kid"]?.stringValue, let cl = meta["cl"]?.stringValue, let claims = Base64.decode(cl) {
                jwt = JWTIdentity(keyID: kid, claims: claims)
            }
            return .delivery(id: id, type: type, receivedAt: at, verifiedBy: vb, body: body, jwt: jwt, head: DeliveryHead(meta: meta, body: stored ?? body[...]))
        case "s":
            return StateChange(meta: meta).map { .state($0) }
        case "seen":
            guard let id = meta["id"]?.stringValue, let at = meta["at"]?.doubleValue else { return nil }
            return .seen(id: id, at: at)
        case "forget":
            return meta["id"]?.stringValue.map { .forget(id: $0) }
        case "tok":
            guard let h = meta["h"]?.stringValue.flatMap({ Base64.decode($0) }), h.count == 32, let id = meta["id"]?.stringValue,
                  let until = meta["until"]?.doubleValue else { return nil }
            return .token(TokenUse(digest: TokenDigest(h), id: id, until: until))
        case "noop":
            return .noop
        case "job":
            return JobMark(meta: meta).map { .job($0) }
        default:
            return nil
        }
    }
}
