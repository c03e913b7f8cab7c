import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// A JSON scalar as a route compares it: JSON equality, numbers by value (`1`, `1.0` and `1e0`
/// are one value, and never equal to the string `"1"`). Pure.
public enum MatchValue: Hashable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(DecimalValue)
    case string(String)

    /// The scalar `json` is; nil for arrays, objects and malformed number text.
    public init?(_ json: JSON) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        case .number(let text):
            guard let d = DecimalValue(text) else { return nil }
            self = .number(d)
        case .array, .object: return nil
        }
    }

    /// As people write it in a "why": strings bare (`job_group=nightly-eval`), the rest as JSON.
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let d): d.text
        case .string(let s): s
        }
    }

    /// As JSON (for `--json` output and sidecar round trips).
    public func write(into w: inout JSONWriter) {
        switch self {
        case .null: w.null()
        case .bool(let b): w.bool(b)
        case .number(let d): w.raw(Array(d.text.utf8))
        case .string(let s): w.string(s)
        }
    }
}

/// A JSON number compared by its exact decimal value, not through `Double`: two integers past
/// 2^53 that differ (job ids often are) stay different. `text` is the source spelling, kept for
/// display only.
public struct DecimalValue: Hashable, Sendable {
    public let text: String
    /// Normalised: significant digits without leading or trailing zeros ("" for zero), the power
    /// of ten they are scaled by, and the sign (never negative for zero).
    let negative: Bool
    let digits: String
    let exponent: Int

    /// Exponents beyond this saturate; two values that far out compare equal only if their
    /// digits do, and no sidecar value gets there (see `isFinite`).
    static let exponentLimit = 1 << 40

    /// Parses JSON number text (`-?int(.frac)?([eE][+-]?digits)?`); nil for anything else.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        let negative = i < b.count && b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: [UInt8] = []
        var fractionDigits = 0
        let intStart = i
        while i < b.count, isDigit(b[i]) { mantissa.append(b[i]); i += 1 }
        guard i > intStart else { return nil }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < b.count, isDigit(b[i]) { mantissa.append(b[i]); i += 1 }
            guard i > fracStart else { return nil }
            fractionDigits = i - fracStart
        }
        var exp = 0
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { expNegative = b[i] == UInt8(ascii: "-"); i += 1 }
            let expStart = i
            while i < b.count, isDigit(b[i]) {
                exp = min(exp * 10 + Int(b[i] - 0x30), DecimalValue.exponentLimit)
                i += 1
            }
            guard i > expStart else { return nil }
            if expNegative { exp = -exp }
        }
        guard i == b.count else { return nil }
        // Leading zeros carry no value; trailing ones move into the exponent.
        let lead = mantissa.firstIndex { $0 != 0x30 } ?? mantissa.count
        var significant = mantissa[lead...]
        var scale = exp - fractionDigits
        while let last = significant.last, last == 0x30 { significant.removeLast(); scale += 1 }
        self.text = text
        self.digits = String(decoding: significant, as: UTF8.self)
        self.negative = negative && !significant.isEmpty
        self.exponent = significant.isEmpty ? 0 : max(-DecimalValue.exponentLimit, min(scale, DecimalValue.exponentLimit))
    }

    /// Whether a `Double` holds it without overflowing to infinity or underflowing to zero:
    /// what a sidecar may name (`1e999` is refused there, not silently turned into infinity).
    public var isFinite: Bool {
        guard !digits.isEmpty else { return true }
        let magnitude = exponent + digits.utf8.count - 1  // the power of ten of the leading digit
        return magnitude >= -307 && magnitude <= 308 && Double(text)?.isFinite == true
    }

    public static func == (a: DecimalValue, b: DecimalValue) -> Bool {
        a.negative == b.negative && a.exponent == b.exponent && a.digits == b.digits
    }

    public func hash(into h: inout Hasher) {
        h.combine(negative)
        h.combine(exponent)
        h.combine(digits)
    }
}

private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
