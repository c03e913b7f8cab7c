import HookSupport
import HookNet
import HookHTTP
/// The claim checks of a JWT delivery (PROTOCOL §3). Pure: time is passed in.
///
/// A token is a licence for one delivery for a bounded time: by default it must carry `exp`
/// (no further than `maxLifetime` from `iat`, or from now) or a recent `iat`. Each rule can be
/// relaxed by a setting; the defaults are the safe ones.
public struct JWTClaimsPolicy: Sendable {
    /// When set, `aud` (a string, or an array of strings) must contain it.
    public var audience: String?
    /// When set, `iss` must equal it.
    public var issuer: String?
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    public var leeway: Double = 60
    /// The longest a token may be valid: `exp - iat`, or `exp - now` without `iat`.
    public var maxLifetime: Double = 3600
    /// Refuse a token with neither `exp` nor `iat` (it would verify for ever).
    public var requireExpiry = true
    /// Without `exp`, how old `iat` may be (`HOOKHOST_TOLERANCE`, as for `webhook-timestamp`).
    public var issuedWithin: Double = 300
    /// How long a token without `exp` or `iat` (only with `requireExpiry` off) is remembered
    /// against reuse (`HOOKHOST_DEDUP_TTL`, as long as a webhook-id).
    public var untimedMemory: Double = 259_200
    /// Accepted header `typ` values, compared case-insensitively without an `application/`
    /// prefix (RFC 7515 §4.1.9); a token without `typ` passes. Empty: any.
    public var acceptedTypes: [String] = ["JWT"]

    public init(audience: String? = nil, leeway: Double = 60) {
        self.audience = audience
        self.leeway = leeway
    }

    /// A policy without the lifetime rules (exp/iat optional, any lifetime): for tests of the
    /// other checks, and for what an operator gets with every relaxing setting.
    public static func lenient(audience: String? = nil) -> JWTClaimsPolicy {
        var p = JWTClaimsPolicy(audience: audience)
        p.requireExpiry = false
        p.maxLifetime = .infinity
        return p
    }

    /// Claims that, when present, carry the SHA-256 of the raw body (hex, base64 or base64url).
    /// Gemini does not document its claims; these are the common spellings.
    public static let bodyHashClaims = ["body_sha256", "body_hash", "payload_sha256", "payload_hash", "sha256"]
    /// Claims that, when present, carry the event: its `type` (a string) or the whole body (an object).
    public static let eventClaims = ["event", "event_type", "type"]
    /// A claim that, when it is an object, carries the body's `data`.
    public static let dataClaim = "data"

    /// The header's `typ`, when present, must name a JWT (or an accepted type).
    public func checkType(_ type: String?) throws(JWTError) {
        guard let type, !acceptedTypes.isEmpty else { return }
        let t = JWTClaimsPolicy.mediaType(type)
        if !acceptedTypes.contains(where: { JWTClaimsPolicy.mediaType($0) == t }) { throw .typeNotAllowed(type) }
    }

    /// `application/JWT` → `jwt`: RFC 7515 §4.1.9 lets the prefix go and compares case-insensitively.
    static func mediaType(_ s: String) -> String {
        let lower = String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self)
        return lower.hasPrefix("application/") ? String(lower.dropFirst(12)) : lower
    }

    /// Checks the time claims, `aud`, `iss` and any claim that binds the body; returns until when
    /// the token could verify (so until when it must be remembered against reuse). Times are
    /// finite numbers (`1e999` would be a token that never expires); strings compare code point
    /// for code point (RFC 7519 §2: no normalization; Swift's `==` would take U+212A KELVIN SIGN
    /// for "K").
    @discardableResult
    public func check(_ claims: JSON, body: [UInt8], now: Double) throws(JWTError) -> Double {
        try check(claims, body: ParsedBody(body), now: now)
    }

    /// As `check(_:body:now:)`, with a body that is parsed at most once for all who need it.
    @discardableResult
    public func check(_ claims: JSON, body: ParsedBody, now: Double) throws(JWTError) -> Double {
        let validUntil = try checkTimes(claims, now: now)
        if let audience {
            switch claims["aud"] {
            case nil: throw .missingAudience
            case .string(let a)?: if !JWTClaimsPolicy.sameText(a, audience) { throw .audienceMismatch }
            case .array(let list)?:
                if !list.contains(where: { $0.stringValue.map { JWTClaimsPolicy.sameText($0, audience) } ?? false }) { throw .audienceMismatch }
            default: throw .audienceMismatch
            }
        }
        if let issuer {
            guard let iss = claims["iss"] else { throw .missingIssuer }
            guard let s = iss.stringValue, JWTClaimsPolicy.sameText(s, issuer) else { throw .issuerMismatch }
        }
        try checkBodyBinding(claims, body: body)
        return validUntil
    }

    /// `exp`, `nbf` and `iat`, and the lifetime they give the token; returns its end.
    func checkTimes(_ claims: JSON, now: Double) throws(JWTError) -> Double {
        func time(_ name: String) throws(JWTError) -> Double? {
            guard let v = claims[name] else { return nil }
            guard let t = v.doubleValue, t.isFinite else { throw .invalidTimeClaim(name) }
            return t
        }
        let exp = try time("exp"), nbf = try time("nbf"), iat = try time("iat")
        if let exp, now > exp + leeway { throw .expired }
        if let nbf, now < nbf - leeway { throw .notYetValid }
        // A future iat would stretch both rules below: the lifetime and the age of a token without exp.
        if let iat, iat > now + leeway { throw .issuedInFuture }
        if let exp {
            let lifetime = iat.map { exp - $0 } ?? exp - now
            // Without iat the sender's clock may run ahead of ours by the leeway.
            if lifetime > maxLifetime + (iat == nil ? leeway : 0) {
                throw .lifetimeTooLong(seconds: lifetime, limit: maxLifetime, fromIssue: iat != nil)
            }
            return exp + leeway
        }
        if let iat {
            if requireExpiry && now > iat + issuedWithin { throw .issuedTooLongAgo(tolerance: issuedWithin) }
            return requireExpiry ? iat + issuedWithin : now + untimedMemory
        }
        if requireExpiry { throw .missingExpiry }
        return now + untimedMemory
    }

    /// A hash, event or `data` claim must match the body; without such claims the body is used as is.
    func checkBodyBinding(_ claims: JSON, body parsedBody: ParsedBody) throws(JWTError) {
        let body = parsedBody.bytes
        var digest: [UInt8]?
        for name in JWTClaimsPolicy.bodyHashClaims {
            guard let v = claims[name] else { continue }
            let d = digest ?? Crypto.sha256(body)
            digest = d
            guard let s = v.stringValue, let claimed = JWTClaimsPolicy.decodeDigest(s), Crypto.constantTimeEqual(claimed, d) else {
                throw .bodyMismatch(claim: name)
            }
        }
        for name in JWTClaimsPolicy.eventClaims {
            guard let v = claims[name] else { continue }
            let event = parsedBody.value ?? .null
            switch v {
            case .string(let type):
                guard let bodyType = event["type"]?.stringValue, JWTClaimsPolicy.sameText(bodyType, type) else { throw .bodyMismatch(claim: name) }
            case .object: if !JWTClaimsPolicy.sameJSON(v, event) { throw .bodyMismatch(claim: name) }
            default: throw .bodyMismatch(claim: name)
            }
        }
        // `data` as an object is the event's payload: the body must carry exactly that (other
        // shapes are some other claim of that name, left alone).
        if let v = claims[JWTClaimsPolicy.dataClaim], v.isObject {
            let event = parsedBody.value ?? .null
            guard let bodyData = event["data"], JWTClaimsPolicy.sameJSON(v, bodyData) else {
                throw .bodyMismatch(claim: JWTClaimsPolicy.dataClaim)
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

    /// Equal as Unicode scalars, byte for byte: no canonical equivalence.
    static func sameText(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// JSON equality that ignores member order and number spelling (`1.0` = `1` = `10e-1`): the
    /// claim holds the event re-serialized by the signer, not the body's bytes. Numbers compare
    /// as exact decimals, never as Doubles (which equate 2^53 + 1 with 2^53, and 1e400 with 7e999).
    static func sameJSON(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            return x.allSatisfy { m in y.first { sameText($0.key, m.key) }.map { sameJSON(m.value, $0.value) } ?? false }
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.number(let x), .number(let y)):
            if x == y { return true }
            guard let dx = ExactNumber(json: x), let dy = ExactNumber(json: y) else { return false }
            return dx == dy
        case (.string(let x), .string(let y)):
            return sameText(x, y)
        default:
            return a == b
        }
    }

    /// A JSON number's exact value: sign, significant digits (no leading or trailing zeros) and
    /// the power of ten of the last one. Zero is `(false, [], 0)` whatever its spelling (`-0.0e5`).
    struct ExactNumber: Equatable {
        var negative: Bool
        var digits: [UInt8]
        var exponent: Int

        /// Nil when the text is not a JSON number or its exponent is beyond ±10^15 (compared as
        /// text then).
        init?(json text: String) {
            var u = Substring(text).utf8[...]
            negative = u.first == UInt8(ascii: "-")
            if negative { u = u.dropFirst() }
            let mantissa = u.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
            var exp = 0
            if mantissa.count < u.count {
                var e = u.dropFirst(mantissa.count + 1)
                let expNegative = e.first == UInt8(ascii: "-")
                if e.first == UInt8(ascii: "-") || e.first == UInt8(ascii: "+") { e = e.dropFirst() }
                let significant = e.drop { $0 == UInt8(ascii: "0") }
                guard !e.isEmpty, significant.count <= 15, e.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                exp = significant.reduce(0) { $0 * 10 + Int($1 - 0x30) } * (expNegative ? -1 : 1)
            }
            var d: [UInt8] = []
            var fraction = 0, seenPoint = false
            for c in mantissa {
                if c == UInt8(ascii: ".") { guard !seenPoint else { return nil }; seenPoint = true; continue }
                guard c >= 0x30 && c <= 0x39 else { return nil }
                if seenPoint { fraction += 1 }
                if !(d.isEmpty && c == 0x30) { d.append(c) }
            }
            guard !mantissa.isEmpty else { return nil }
            exp -= fraction
            while d.last == 0x30 { d.removeLast(); exp += 1 }
            if d.isEmpty { negative = false; exp = 0 }
            digits = d
            exponent = exp
        }
    }
}
