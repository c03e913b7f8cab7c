/// One entry of the append-only spool log (pure encoding; no I/O).
///
/// Frame: `magic u32 | length u32 | crc32c u32 | payload`, little-endian, where the CRC covers the
/// length field and the payload, and the payload is `metaLength u32 | meta JSON | body bytes`.
/// A torn or corrupted frame fails the CRC and is skipped on recovery.
public enum SpoolRecord: Sendable, Equatable {
    /// A new delivery, with the raw body exactly as received (and the JWT key and claims it was
    /// verified with, if any).
    case delivery(id: String, type: String, receivedAt: Double, verifiedBy: VerifiedBy, body: [UInt8], jwt: JWTIdentity? = nil)
    /// A state change.
    case state(StateChange)
    /// An id remembered only for dedup (its delivery was pruned).
    case seen(id: String, at: Double)
    /// The delivery was purged by an operator.
    case forget(id: String)
    /// Written by the disk probe; carries nothing.
    case noop

    static let magic: UInt32 = 0x314B_4848  // "HHK1"
    static let headerSize = 12
    static let maxPayload = 64 << 20

    /// The framed bytes for the log.
    public func encoded() -> [UInt8] {
        var meta = JSONWriter(reserve: 128)
        var body: [UInt8] = []
        meta.beginObject()
        switch self {
        case .delivery(let id, let type, let at, let vb, let b, let jwt):
            meta.field("k", "d"); meta.field("id", id); meta.field("type", type)
            meta.key("at"); meta.double(at); meta.field("vb", vb.rawValue)
            if let jwt {
                // Claims as base64url text: whatever their nesting or bytes, the record's
                // metadata stays shallow, plain ASCII JSON that recovery always parses.
                meta.field("kid", jwt.keyID); meta.field("cl", Base64.encode(jwt.claims, urlSafe: true))
            }
            body = b
        case .state(let s):
            s.write(into: &meta)
        case .seen(let id, let at):
            meta.field("k", "seen"); meta.field("id", id); meta.key("at"); meta.double(at)
        case .forget(let id):
            meta.field("k", "forget"); meta.field("id", id)
        case .noop:
            meta.field("k", "noop")
        }
        meta.endObject()
        var payload: [UInt8] = []
        payload.reserveCapacity(4 + meta.bytes.count + body.count)
        appendLE(UInt32(meta.bytes.count), to: &payload)
        payload += meta.bytes
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
        let body = bodies ? Array(payload[(metaStart + metaLen)...]) : []
        if let r = decodeCommon(meta: payload[metaStart..<(metaStart + metaLen)], body: body, bodies: bodies) { return r }
        guard let meta = try? JSONParser.parse(Array(payload[metaStart..<(metaStart + metaLen)])) else { return nil }
        switch meta["k"]?.stringValue {
        case "d":
            guard let id = meta["id"]?.stringValue, let type = meta["type"]?.stringValue,
                  let at = meta["at"]?.doubleValue, let vb = VerifiedBy(rawValue: meta["vb"]?.stringValue ?? "") else { return nil }
            // Records written before JWT support have neither field.
            var jwt: JWTIdentity?
            if bodies, let kid = meta["kid"]?.stringValue, let cl = meta["cl"]?.stringValue, let claims = Base64.decode(cl) {
                jwt = JWTIdentity(keyID: kid, claims: claims)
            }
            return .delivery(id: id, type: type, receivedAt: at, verifiedBy: vb, body: body, jwt: jwt)
        case "s":
            return StateChange(meta: meta).map { .state($0) }
        case "seen":
            guard let id = meta["id"]?.stringValue, let at = meta["at"]?.doubleValue else { return nil }
            return .seen(id: id, at: at)
        case "forget":
            return meta["id"]?.stringValue.map { .forget(id: $0) }
        case "noop":
            return .noop
        default:
            return nil
        }
    }
}

extension SpoolRecord {
    /// The two kinds a large log is made of (`seen` and `d`), read straight from the layout
    /// `encoded()` writes, without building a JSON tree: recovery decodes a million of them. Any
    /// byte out of that layout (an escape in a string, another field order) gives nil and the
    /// caller parses the metadata in full, so this only ever agrees with the parser.
    static func decodeCommon(meta: ArraySlice<UInt8>, body: [UInt8], bodies: Bool) -> SpoolRecord? {
        var c = MetaCursor(meta)
        if c.take(#"{"k":"seen","id":"#) {
            guard let id = c.string(), c.take(#","at":"#), let at = c.number(), c.take("}"), c.atEnd else { return nil }
            return .seen(id: id, at: at)
        }
        guard c.take(#"{"k":"d","id":"#), let id = c.string(), c.take(#","type":"#), let type = c.string(),
              c.take(#","at":"#), let at = c.number(), c.take(#","vb":"#), let vbText = c.string(),
              let vb = VerifiedBy(rawValue: vbText) else { return nil }
        var jwt: JWTIdentity?
        if c.take(#","kid":"#) {
            guard let kid = c.string(), c.take(#","cl":"#), let cl = c.string() else { return nil }
            if bodies {
                guard let claims = Base64.decode(cl) else { return nil }
                jwt = JWTIdentity(keyID: kid, claims: claims)
            }
        }
        guard c.take("}"), c.atEnd else { return nil }
        return .delivery(id: id, type: type, receivedAt: at, verifiedBy: vb, body: body, jwt: jwt)
    }
}

/// Reads the plain parts of `JSONWriter` output: exact literals, strings without escapes, numbers.
struct MetaCursor {
    private let bytes: ArraySlice<UInt8>
    private var i: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        i = bytes.startIndex
    }

    var atEnd: Bool { i == bytes.endIndex }

    /// Consumes `literal` if the bytes continue with it.
    mutating func take(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard bytes.endIndex - i >= n else { return false }
        let p = literal.utf8Start
        for k in 0..<n where bytes[i + k] != p[k] { return false }
        i += n
        return true
    }

    /// A string value; nil if it has an escape, a control byte or invalid UTF-8 (the parser's case).
    mutating func string() -> String? {
        guard i < bytes.endIndex, bytes[i] == 0x22 else { return nil }
        var j = i + 1
        while j < bytes.endIndex {
            let b = bytes[j]
            if b == 0x22 { break }
            if b == 0x5C || b < 0x20 { return nil }
            j += 1
        }
        guard j < bytes.endIndex, let s = String(validating: bytes[(i + 1)..<j], as: UTF8.self) else { return nil }
        i = j + 1
        return s
    }

    /// A number in JSON's grammar (`-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?`), read as the parser's
    /// `doubleValue` reads it.
    mutating func number() -> Double? {
        var j = i
        func digits() -> Int {
            let from = j
            while j < bytes.endIndex, bytes[j] >= 0x30 && bytes[j] <= 0x39 { j += 1 }
            return j - from
        }
        if j < bytes.endIndex, bytes[j] == 0x2D { j += 1 }
        let intStart = j
        let intDigits = digits()
        guard intDigits > 0, intDigits == 1 || bytes[intStart] != 0x30 else { return nil }
        if j < bytes.endIndex, bytes[j] == 0x2E {
            j += 1
            guard digits() > 0 else { return nil }
        }
        if j < bytes.endIndex, bytes[j] == 0x65 || bytes[j] == 0x45 {
            j += 1
            if j < bytes.endIndex, bytes[j] == 0x2B || bytes[j] == 0x2D { j += 1 }
            guard digits() > 0 else { return nil }
        }
        guard let d = Double(String(decoding: bytes[i..<j], as: UTF8.self)) else { return nil }
        i = j
        return d
    }
}

/// A persisted transition: the new state and what the attempt produced.
public struct StateChange: Sendable, Equatable {
    public var id: String
    public var state: DeliveryState
    public var attempt: Int
    public var at: Double
    public var nextAt: Double?
    public var error: String?
    public var function: String?
    public var exitCode: Int?
    public var durationMs: Int?
    /// The handler's stdout when it was a JSON object, raw.
    public var output: [UInt8]?
    /// The record's metadata object holds the output one level down; recovery parses the whole
    /// record with `JSONParser.maxDepth`.
    public static let maxOutputDepth = JSONParser.maxDepth - 1
    /// The bounded tail of the handler's stderr.
    public var stderrTail: String?
    /// Attempts made before the last replay; the attempt budget counts from here.
    public var attemptBase: Int?
    /// When the function first answered "try again later" (exit 75) in the run of such answers
    /// this one continues; nil once it answered anything else.
    public var retryLaterSince: Double?
    /// The downloaded result (with `fetched`).
    public var result: FetchedResult?
    /// The first bytes of a stdout that was not a JSON object (so not kept as `output`).
    public var stdoutHead: String?

    public init(id: String, state: DeliveryState, attempt: Int, at: Double, nextAt: Double? = nil, error: String? = nil,
                function: String? = nil, exitCode: Int? = nil, durationMs: Int? = nil, output: [UInt8]? = nil, stderrTail: String? = nil) {
        self.id = id; self.state = state; self.attempt = attempt; self.at = at; self.nextAt = nextAt; self.error = error
        self.function = function; self.exitCode = exitCode; self.durationMs = durationMs; self.output = output; self.stderrTail = stderrTail
    }

    /// Whether this record says how an attempt ended (kept in the delivery's attempt history):
    /// not a start (running, fetching), a downloaded result (fetched) or a replay (received).
    var endsAttempt: Bool {
        state == .done || state == .dead || state == .retryScheduled || state == .skipped
    }

    func write(into w: inout JSONWriter) {
        w.field("k", "s"); w.field("id", id); w.field("st", state.rawValue); w.field("a", attempt)
        w.key("t"); w.double(at)
        if let nextAt { w.key("n"); w.double(nextAt) }
        if let error { w.field("e", error) }
        if let function { w.field("f", function) }
        if let exitCode { w.field("x", exitCode) }
        if let durationMs { w.field("ms", durationMs) }
        if let output { w.key("o"); w.raw(output) }
        if let stderrTail { w.field("se", stderrTail) }
        if let attemptBase { w.field("b", attemptBase) }
        if let retryLaterSince { w.key("rl"); w.double(retryLaterSince) }
        if let r = result {
            w.key("r")
            w.beginObject()
            w.field("uri", r.uri); w.field("path", r.path); w.field("bytes", r.bytes); w.field("sha256", r.sha256)
            w.field("ct", optional: r.contentType)
            w.endObject()
        }
        if let stdoutHead { w.field("oh", stdoutHead) }
    }

    init?(meta: JSON) {
        guard let id = meta["id"]?.stringValue, let st = DeliveryState(rawValue: meta["st"]?.stringValue ?? ""),
              let a = meta["a"]?.intValue, let t = meta["t"]?.doubleValue else { return nil }
        self.init(id: id, state: st, attempt: a, at: t)
        nextAt = meta["n"]?.doubleValue
        error = meta["e"]?.stringValue
        function = meta["f"]?.stringValue
        exitCode = meta["x"]?.intValue
        durationMs = meta["ms"]?.intValue
        if let m = meta.member("o") {
            var w = JSONWriter(); w.value(m.value); output = w.bytes
        }
        stderrTail = meta["se"]?.stringValue
        attemptBase = meta["b"]?.intValue
        retryLaterSince = meta["rl"]?.doubleValue
        if let r = meta["r"], let uri = r["uri"]?.stringValue, let path = r["path"]?.stringValue,
           let bytes = r["bytes"]?.intValue, let sha = r["sha256"]?.stringValue {
            result = FetchedResult(uri: uri, path: path, bytes: bytes, sha256: sha, contentType: r["ct"]?.stringValue)
        }
        stdoutHead = meta["oh"]?.stringValue
    }
}

/// Result of scanning a log image: the valid records and what was skipped.
public struct SpoolScan: Sendable {
    public var records: [(offset: Int64, length: Int, record: SpoolRecord)] = []
    /// Bytes skipped because a frame was torn or corrupt.
    public var skippedBytes = 0
    /// Where the last valid frame ends (appends continue here).
    public var validEnd: Int64 = 0
}

/// Reads frames back; stops trusting a region on a bad CRC and resynchronises on the next
/// valid frame, so one damaged record cannot hide the ones after it. One algorithm for a file
/// (read in windows) and for bytes in memory (tests).
public enum SpoolScanner {
    /// Scans bytes in memory.
    public static func scan(_ bytes: [UInt8]) -> SpoolScan {
        scan(size: Int64(bytes.count)) { offset, count in Array(bytes[Int(offset)..<(Int(offset) + count)]) }
    }

    /// Scans `size` bytes fetched through `read(offset, count)`, a window of at least `chunk`
    /// bytes (or one whole frame) at a time.
    static func scan<E: Error>(size: Int64, chunk: Int = 4 << 20, read: (Int64, Int) throws(E) -> [UInt8]) throws(E) -> SpoolScan {
        var records: [(offset: Int64, length: Int, record: SpoolRecord)] = []
        var result = try scan(size: size, chunk: chunk, bodies: true, read: read) { records.append(($0, $1, $2)) }
        result.records = records
        return result
    }

    /// The same, handing each record to `visit` as it is read instead of collecting them (a log
    /// of a million records would otherwise be held whole in memory at start). `records` of the
    /// result stays empty. Without `bodies`, see `SpoolRecord.decode`.
    static func scan<E: Error>(size: Int64, chunk: Int = 4 << 20, bodies: Bool, read: (Int64, Int) throws(E) -> [UInt8],
                               visit: (Int64, Int, SpoolRecord) -> Void) throws(E) -> SpoolScan {
        var result = SpoolScan()
        var window: [UInt8] = []
        var windowStart: Int64 = 0
        var pos: Int64 = 0
        while pos < size {
            // Keep at least one header, or a whole frame, in the window.
            var needed = SpoolRecord.headerSize
            let rel = Int(pos - windowStart)
            if rel + SpoolRecord.headerSize <= window.count, readLE(window[...], at: rel) == SpoolRecord.magic {
                needed = SpoolRecord.headerSize + min(Int(readLE(window[...], at: rel + 4)), SpoolRecord.maxPayload)
            }
            if rel + needed > window.count {
                if windowStart + Int64(window.count) >= size && windowStart <= pos && !window.isEmpty {
                    // Already at the end: a header whose frame runs past it is torn or bogus.
                    if size - pos < Int64(SpoolRecord.headerSize) { break }
                    pos += 1
                    result.skippedBytes += 1
                    continue
                }
                window = try read(pos, Int(min(Int64(max(chunk, needed)), size - pos)))
                windowStart = pos
                if window.isEmpty { break }  // the file shrank under us: nothing more to trust
                continue
            }
            if let (len, rec) = frame(at: rel, in: window, bodies: bodies) {
                let total = SpoolRecord.headerSize + len
                visit(pos, total, rec)
                pos += Int64(total)
                result.validEnd = pos
            } else {
                // Resynchronise at the next byte that can start a frame (the magic's first):
                // damage, or zeros allocated ahead, is crossed a window at a time, not byte by byte.
                let next = window[(rel + 1)...].firstIndex(of: UInt8(truncatingIfNeeded: SpoolRecord.magic)) ?? window.count
                let step = min(Int64(next - rel), size - pos)
                pos += step
                result.skippedBytes += Int(step)
            }
        }
        result.skippedBytes = max(result.skippedBytes, Int(size - result.validEnd))
        return result
    }

    /// Decodes the frame at `pos` if its magic, length and CRC are all right.
    static func frame(at pos: Int, in bytes: [UInt8], bodies: Bool = true) -> (Int, SpoolRecord)? {
        guard readLE(bytes[...], at: pos) == SpoolRecord.magic else { return nil }
        let len = Int(readLE(bytes[...], at: pos + 4))
        guard len <= SpoolRecord.maxPayload, pos + SpoolRecord.headerSize + len <= bytes.count else { return nil }
        let crc = readLE(bytes[...], at: pos + 8)
        let lenBytes = bytes[(pos + 4)..<(pos + 8)]
        let payload = bytes[(pos + SpoolRecord.headerSize)..<(pos + SpoolRecord.headerSize + len)]
        guard CRC32C.checksum(payload, seed: CRC32C.checksum(lenBytes)) == crc else { return nil }
        guard let rec = SpoolRecord.decode(payload: payload, bodies: bodies) else { return nil }
        return (len, rec)
    }
}

func appendLE(_ v: UInt32, to out: inout [UInt8]) {
    out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8 & 0xFF)); out.append(UInt8(v >> 16 & 0xFF)); out.append(UInt8(v >> 24))
}

func readLE(_ b: ArraySlice<UInt8>, at i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
}
