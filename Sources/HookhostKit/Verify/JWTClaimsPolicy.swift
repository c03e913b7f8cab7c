/// The claim checks of a JWT delivery (PROTOCOL §3). Pure: time is passed in.
public struct JWTClaimsPolicy: Sendable {
    /// When set, `aud` (a string, or an array of strings) must contain it.
    public var audience: String?
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    public var leeway: Double = 60

    public init(audience: String? = nil, leeway: Double = 60) {
        self.audience = audience
        self.leeway = leeway
    }

    /// Claims that, when present, carry the SHA-256 of the raw body (hex, base64 or base64url).
    /// Gemini does not document its claims; these are the common spellings.
    public static let bodyHashClaims = ["body_sha256", "body_hash", "payload_sha256", "payload_hash", "sha256"]
    /// Claims that, when present, carry the event: its `type` (a string) or the whole body (an object).
    public static let eventClaims = ["event", "event_type", "type"]

    /// Checks `exp`, `nbf`, `aud` and any claim that binds the body.
    public func check(_ claims: JSON, body: [UInt8], now: Double) throws(JWTError) {
        if let exp = claims["exp"] {
            guard let t = exp.doubleValue else { throw .invalidTimeClaim("exp") }
            if now > t + leeway { throw .expired }
        }
        if let nbf = claims["nbf"] {
            guard let t = nbf.doubleValue else { throw .invalidTimeClaim("nbf") }
            if now < t - leeway { throw .notYetValid }
        }
        if let audience {
            switch claims["aud"] {
            case nil: throw .missingAudience
            case .string(let a)?: if a != audience { throw .audienceMismatch }
            case .array(let list)?: if !list.contains(.string(audience)) { throw .audienceMismatch }
            default: throw .audienceMismatch
            }
        }
        try checkBodyBinding(claims, body: body)
    }

    /// A hash or event claim must match the body; without such claims the body is used as is.
    func checkBodyBinding(_ claims: JSON, body: [UInt8]) throws(JWTError) {
        var digest: [UInt8]?
        for name in JWTClaimsPolicy.bodyHashClaims {
            guard let v = claims[name] else { continue }
            let d = digest ?? Crypto.sha256(body)
            digest = d
            guard let s = v.stringValue, let claimed = JWTClaimsPolicy.decodeDigest(s), Crypto.constantTimeEqual(claimed, d) else {
                throw .bodyMismatch(claim: name)
            }
        }
        var parsed: JSON?
        for name in JWTClaimsPolicy.eventClaims {
            guard let v = claims[name] else { continue }
            let event = parsed ?? ((try? JSONParser.parse(body)) ?? .null)
            parsed = event
            switch v {
            case .string(let type): if event["type"]?.stringValue != type { throw .bodyMismatch(claim: name) }
            case .object: if !JWTClaimsPolicy.sameJSON(v, event) { throw .bodyMismatch(claim: name) }
            default: throw .bodyMismatch(claim: name)
            }
        }
    }

    /// A 32-byte digest written as hex, base64 or base64url.
    static func decodeDigest(_ s: String) -> [UInt8]? {
        if s.utf8.count == 64, let hex = hexDecode(s) { return hex }
        if let b = Base64.decode(s), b.count == 32 { return b }
        return nil
    }

    static func hexDecode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var hi: UInt8?
        for c in s.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = hi { out.append(h << 4 | v); hi = nil } else { hi = v }
        }
        return hi == nil ? out : nil
    }

    /// JSON equality that ignores member order and number spelling (`1.0` = `1`): the claim
    /// holds the event re-serialized by the signer, not the body's bytes.
    static func sameJSON(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            return x.allSatisfy { m in y.first { $0.key == m.key }.map { sameJSON(m.value, $0.value) } ?? false }
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.number(let x), .number(let y)):
            return x == y || (Double(x) != nil && Double(x) == Double(y))
        default:
            return a == b
        }
    }
}
