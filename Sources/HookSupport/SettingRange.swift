/// The documented range of a numeric setting. Values outside it are refused with a message that
/// states the range, never clamped silently: an operator who wrote `1e999` meant something else.
public struct SettingRange: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    /// Whether `lower` itself is allowed (`0` is a valid retention, not a valid timeout).
    public let lowerInclusive: Bool
    public let integer: Bool

    /// Seconds from `lower` (exclusive unless `allowZero`) to `upper` inclusive.
    public static func seconds(max upper: Double, allowZero: Bool = false) -> SettingRange {
        SettingRange(lower: 0, upper: upper, lowerInclusive: allowZero, integer: false)
    }

    /// Seconds from `lower` to `upper`, both inclusive (a period that may be short, never zero).
    public static func seconds(from lower: Double, max upper: Double) -> SettingRange {
        SettingRange(lower: lower, upper: upper, lowerInclusive: true, integer: false)
    }

    /// An integer count from `lower` to `upper` inclusive.
    public static func count(_ lower: Int, _ upper: Int) -> SettingRange {
        SettingRange(lower: Double(lower), upper: Double(upper), lowerInclusive: true, integer: true)
    }

    /// Whether a value lies in the range (NaN and infinities never do).
    public func contains(_ v: Double) -> Bool {
        guard v.isFinite, v <= upper else { return false }
        if integer && v.rounded() != v { return false }
        return lowerInclusive ? v >= lower : v > lower
    }

    /// Parses a setting's text: plain decimal notation only (no `inf`, `nan` or hex floats),
    /// surrounding spaces allowed. Nil when it is not a number in the range.
    public func parse(_ text: String) -> Double? {
        let t = text.trimmingSpaces
        guard !t.isEmpty, t.utf8.allSatisfy({ SettingRange.decimalCharacters.contains($0) }) else { return nil }
        if integer {
            guard let n = Int(t) else { return nil }
            return contains(Double(n)) ? Double(n) : nil
        }
        guard let d = Double(t), contains(d) else { return nil }
        return d
    }

    /// Checks a JSON number (sidecars): the same range, from the number's source text.
    public func check(_ json: JSON) -> Double? {
        guard case .number(let text) = json else { return nil }
        if integer {
            // `5.0` and `5e0` are the integer 5; `5.5` and `1e17` (out of range) are not accepted.
            guard let d = Double(text), d.rounded() == d, contains(d) else { return nil }
            return d
        }
        guard let d = Double(text), contains(d) else { return nil }
        return d
    }

    /// "a number of seconds from 0 to 86400" / "an integer from 1 to 1000", for error messages.
    public var expectation: String {
        if integer { return "an integer from \(SettingRange.format(lower)) to \(SettingRange.format(upper))" }
        let low = lowerInclusive ? "from \(SettingRange.format(lower))" : "greater than \(SettingRange.format(lower))"
        return "a number of seconds \(low) up to \(SettingRange.format(upper))"
    }

    public static func format(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }

    private static let decimalCharacters: Set<UInt8> = Set("0123456789.eE+-".utf8)
}
