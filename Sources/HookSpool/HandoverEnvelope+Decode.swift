import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Reading a hand-over: every field checked and named when wrong. A signed envelope comes from a
/// replica holding the peer secret, but a bug or an older version there must get a clear 400,
/// never a record the spool cannot read back or a time that never comes.
extension HandoverEnvelope {
    /// The envelope is shallow (objects two deep); deeper is not one.
    public static let maxDepth = 4
    public static let maxIDBytes = 256
    public static let maxHistory = 64
    static let maxAttempts = 1_000_000
    static let maxTextBytes = 64 << 10
    /// Seconds since the epoch a time may take: after 1970, before the year 5000.
    static let times: ClosedRange<Double> = 0...95_617_584_000

    public static func decode(_ bytes: [UInt8]) throws(HandoverEnvelopeError) -> HandoverEnvelope {
        let doc: JSON
        do { doc = try JSONParser.parse(bytes, maxDepth: maxDepth) } catch {
            throw HandoverEnvelopeError("body is not a hand-over: not JSON, or nested deeper than \(maxDepth) levels (\(error))")
        }
        guard doc.isObject else { throw HandoverEnvelopeError("body is not a JSON object") }
        guard doc["v"]?.intValue == version else { throw HandoverEnvelopeError("v must be \(version) (the hand-over format this host reads)") }
        let id = try text(doc, "id", max: maxIDBytes)
        guard !id.isEmpty else { throw HandoverEnvelopeError("id is empty") }
        let type = try text(doc, "type", max: EventType.maxLength)
        guard EventType.isValid(type), EventType.canonical(type) == type else {
            throw HandoverEnvelopeError("type is not a canonical dotted event name")
        }
        guard let b64 = doc["body"]?.stringValue, let body = Base64.decode(b64) else { throw HandoverEnvelopeError("body must be base64 text") }
        guard let vb = VerifiedBy(rawValue: doc["verified_by"]?.stringValue ?? "") else {
            throw HandoverEnvelopeError("verified_by must be hmac, jwt, parent, host or reconcile")
        }
        guard let state = DeliveryState(rawValue: doc["state"]?.stringValue ?? ""), handedStates.contains(state) else {
            throw HandoverEnvelopeError("state must be received, retry_scheduled or fetched")
        }
        let attempt = try count(doc, "attempt", max: maxAttempts)
        let base = try count(doc, "attempt_base", max: attempt)
        var e = HandoverEnvelope(id: id, type: type, body: body, receivedAt: try time(doc, "received_at")!, verifiedBy: vb,
                                 state: state, attempt: attempt, attemptBase: base, from: try origin(doc))
        e.nextAt = try time(doc, "next_at", required: false)
        e.retryLaterSince = try time(doc, "retry_later_since", required: false)
        e.function = try optionalText(doc, "function", max: 4096)
        e.lastError = try optionalText(doc, "last_error", max: maxTextBytes)
        e.jwt = try jwt(doc)
        e.head = try head(doc)
        e.result = try result(doc)
        e.history = try history(doc, id: id)
        return e
    }

    static func text(_ doc: JSON, _ key: String, max: Int) throws(HandoverEnvelopeError) -> String {
        guard let s = doc[key]?.stringValue else { throw HandoverEnvelopeError("\(key) must be a string") }
        guard s.utf8.count <= max else { throw HandoverEnvelopeError("\(key) is longer than \(max) bytes") }
        return s
    }

    static func optionalText(_ doc: JSON, _ key: String, max: Int) throws(HandoverEnvelopeError) -> String? {
        guard let v = doc[key], v != .null else { return nil }
        return try text(doc, key, max: max)
    }

    /// A whole number in 0…`max` (1e3, 2.0, -1, 1e999 are not).
    static func count(_ doc: JSON, _ key: String, max: Int) throws(HandoverEnvelopeError) -> Int {
        guard let n = doc[key]?.intValue, n >= 0, n <= max else { throw HandoverEnvelopeError("\(key) must be a whole number 0 … \(max)") }
        return n
    }

    /// A finite time in seconds since the epoch; nil when absent and not `required`.
    static func time(_ doc: JSON, _ key: String, required: Bool = true) throws(HandoverEnvelopeError) -> Double? {
        guard let v = doc[key], v != .null else {
            if required { throw HandoverEnvelopeError("\(key) is missing") }
            return nil
        }
        guard let t = v.doubleValue, t.isFinite, times.contains(t) else {
            throw HandoverEnvelopeError("\(key) must be seconds since the epoch (a finite number ≥ 0)")
        }
        return t
    }

    static func origin(_ doc: JSON) throws(HandoverEnvelopeError) -> Origin {
        guard let f = doc["from"], f.isObject else { throw HandoverEnvelopeError("from must be an object with name and address") }
        return Origin(name: try text(f, "name", max: 256), address: try text(f, "address", max: 256))
    }

    static func jwt(_ doc: JSON) throws(HandoverEnvelopeError) -> JWTIdentity? {
        guard let j = doc["jwt"], j != .null else { return nil }
        guard let kid = j["kid"]?.stringValue, let cl = j["claims"]?.stringValue, let claims = Base64.decode(cl) else {
            throw HandoverEnvelopeError("jwt must be an object with kid and base64url claims")
        }
        return JWTIdentity(keyID: kid, claims: claims)
    }

    static func head(_ doc: JSON) throws(HandoverEnvelopeError) -> DeliveryHead {
        guard let h = doc["head"], h.isObject else { throw HandoverEnvelopeError("head must be an object") }
        var head = DeliveryHead()
        if let um = h["user_metadata"], um != .null {
            guard let s = um.stringValue, let bytes = Base64.decode(s) else { throw HandoverEnvelopeError("head.user_metadata must be base64url text") }
            head.userMetadata = bytes
        }
        head.job = try optionalText(h, "job", max: maxTextBytes)
        head.result = try optionalText(h, "result", max: maxTextBytes)
        if let c = h["chain"], c != .null {
            guard c.isObject else { throw HandoverEnvelopeError("head.chain must be an object") }
            head.chain = DeliveryHead.Chain(parent: try text(c, "parent", max: maxIDBytes), root: try text(c, "root", max: maxIDBytes),
                                            depth: try count(c, "depth", max: 1024))
        }
        return head
    }

    static func result(_ doc: JSON) throws(HandoverEnvelopeError) -> FetchedResult? {
        guard let r = doc["result"], r != .null else { return nil }
        guard r.isObject else { throw HandoverEnvelopeError("result must be an object") }
        return FetchedResult(uri: try text(r, "uri", max: maxTextBytes), path: try text(r, "path", max: 4096),
                             bytes: try count(r, "bytes", max: Int.max), sha256: try text(r, "sha256", max: 64),
                             contentType: try optionalText(r, "content_type", max: 1024), fetchMs: r["fetch_ms"]?.intValue)
    }

    /// Each entry: a state record's metadata as the spool writes it, base64url; it must be about
    /// this delivery and say how an attempt ended.
    static func history(_ doc: JSON, id: String) throws(HandoverEnvelopeError) -> [StateChange] {
        guard let h = doc["history"] else { return [] }
        guard case .array(let items) = h else { throw HandoverEnvelopeError("history must be an array") }
        guard items.count <= maxHistory else { throw HandoverEnvelopeError("history has more than \(maxHistory) entries") }
        var out: [StateChange] = []
        for (i, item) in items.enumerated() {
            guard let s = item.stringValue, let bytes = Base64.decode(s), let meta = try? JSONParser.parse(bytes),
                  meta["k"]?.stringValue == "s", let change = StateChange(meta: meta) else {
                throw HandoverEnvelopeError("history[\(i)] is not a state record (base64url of its JSON)")
            }
            guard change.id == id else { throw HandoverEnvelopeError("history[\(i)] is about another delivery") }
            guard change.endsAttempt else { throw HandoverEnvelopeError("history[\(i)] does not record the end of an attempt") }
            guard change.attempt >= 0, change.attempt <= maxAttempts, change.at.isFinite, times.contains(change.at),
                  change.nextAt.map({ $0.isFinite && times.contains($0) }) ?? true,
                  change.retryLaterSince.map({ $0.isFinite && times.contains($0) }) ?? true,
                  (change.attemptBase ?? 0) >= 0 else {
                throw HandoverEnvelopeError("history[\(i)] has an attempt or a time out of range")
            }
            out.append(change)
        }
        return out
    }
}
