import HookSupport
import HookNet
import HookHTTP
import HookVerify
extension SpoolRecord {
    /// The kinds a large log is made of (`seen`, `d`, and `tok` with JWT deliveries), read
    /// straight from the layout `encoded()` writes, without building a JSON tree: recovery
    /// decodes a million of them. Any byte out of that layout (an escape in a string, another
    /// field order) gives nil and the caller parses the metadata in full, so this only ever
    /// agrees with the parser.
    /// `stored`: the record's body as written (`body` is empty without `bodies`); nil: `body`.
    static func decodeCommon(meta: ArraySlice<UInt8>, body: [UInt8], bodies: Bool, stored: ArraySlice<UInt8>? = nil) -> SpoolRecord? {
        var c = MetaCursor(meta)
        if c.take(#"{"k":"seen","id":"#) {
            guard let id = c.string(), c.take(#","at":"#), let at = c.number(), c.take("}"), c.atEnd else { return nil }
            return .seen(id: id, at: at)
        }
        if c.take(#"{"k":"tok","h":"#) {
            guard let h = c.string().flatMap({ Base64.decode($0) }), h.count == 32, c.take(#","id":"#), let id = c.string(),
                  c.take(#","until":"#), let until = c.number(), c.take("}"), c.atEnd else { return nil }
            return .token(TokenUse(digest: TokenDigest(h), id: id, until: until))
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
        var head: DeliveryHead?
        if c.take(#","h":1"#) {
            var h = DeliveryHead()
            if c.take(#","umo":"#) {
                guard let at = c.number(), c.take(#","uml":"#), let n = c.number(),
                      let um = DeliveryHead.userMetadata(at: at, length: n, in: stored ?? body[...]) else { return nil }
                h.userMetadata = um
            } else if c.take(#","um":"#) {
                guard let um = c.string().flatMap({ Base64.decode($0) }) else { return nil }
                h.userMetadata = um
            }
            if c.take(#","job":"#) {
                guard let job = c.string() else { return nil }
                h.job = job
            }
            if c.take(#","res":"#) {
                guard let res = c.string() else { return nil }
                h.result = res
            }
            if c.take(#","par":"#) {
                guard let parent = c.string(), c.take(#","root":"#), let root = c.string(), c.take(#","dep":"#),
                      let depth = c.number(), depth >= 0, depth <= 1_000, depth == depth.rounded() else { return nil }
                h.chain = DeliveryHead.Chain(parent: parent, root: root, depth: Int(depth))
            }
            head = h
        }
        guard c.take("}"), c.atEnd else { return nil }
        return .delivery(id: id, type: type, receivedAt: at, verifiedBy: vb, body: body, jwt: jwt, head: head)
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
