/// Builds compact JSON into a byte buffer. Raw fragments (already-valid JSON such as a received
/// body) are embedded byte for byte, never re-serialized.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = []
    private var afterKey = false

    public init(reserve: Int = 256) { bytes.reserveCapacity(reserve) }

    public mutating func beginObject() { valuePrefix(); bytes.append(0x7B); needsComma.append(false) }
    public mutating func endObject() { bytes.append(0x7D); needsComma.removeLast() }
    public mutating func beginArray() { valuePrefix(); bytes.append(0x5B); needsComma.append(false) }
    public mutating func endArray() { bytes.append(0x5D); needsComma.removeLast() }

    /// Writes `"key":` inside the current object.
    public mutating func key(_ k: String) {
        valuePrefix()
        JSONWriter.appendEscaped(k, to: &bytes)
        bytes.append(0x3A)
        afterKey = true
    }

    public mutating func string(_ s: String) { valuePrefix(); JSONWriter.appendEscaped(s, to: &bytes) }
    public mutating func int(_ i: Int) { valuePrefix(); bytes.append(contentsOf: Array(String(i).utf8)) }
    public mutating func double(_ d: Double) { valuePrefix(); bytes.append(contentsOf: Array(formatDouble(d).utf8)) }
    public mutating func bool(_ b: Bool) { valuePrefix(); bytes.append(contentsOf: Array((b ? "true" : "false").utf8)) }
    public mutating func null() { valuePrefix(); bytes.append(contentsOf: Array("null".utf8)) }
    /// Embeds bytes that are already one valid JSON value.
    public mutating func raw<C: Collection>(_ json: C) where C.Element == UInt8 { valuePrefix(); bytes.append(contentsOf: json) }

    public mutating func field(_ k: String, _ s: String) { key(k); string(s) }
    public mutating func field(_ k: String, _ i: Int) { key(k); int(i) }
    public mutating func field(_ k: String, _ b: Bool) { key(k); bool(b) }
    /// Writes the string, or null when nil.
    public mutating func field(_ k: String, optional s: String?) { key(k); if let s { string(s) } else { null() } }

    /// Writes a parsed value back as compact JSON.
    public mutating func value(_ v: JSON) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n): valuePrefix(); bytes.append(contentsOf: Array(n.utf8))
        case .string(let s): string(s)
        case .array(let items):
            beginArray(); for i in items { value(i) }; endArray()
        case .object(let members):
            beginObject(); for m in members { key(m.key); value(m.value) }; endObject()
        }
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func valuePrefix() {
        if afterKey { afterKey = false; return }
        guard !needsComma.isEmpty else { return }
        if needsComma[needsComma.count - 1] { bytes.append(0x2C) } else { needsComma[needsComma.count - 1] = true }
    }

    private func formatDouble(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return String(d)
    }

    /// Appends `s` as a JSON string literal with the mandatory escapes.
    public static func appendEscaped(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendEscaped($0, to: &out) }
    }

    /// Runs of bytes that need no escape (nearly all of them) are copied whole: appending byte by
    /// byte was the largest user-space cost of writing spool records and answers.
    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // Grown geometrically, as `append` grows it: an exact reserveCapacity reallocates on nearly
        // every call when strings are escaped back to back into one buffer (quadratic).
        let needed = out.count + utf8.count + 2
        if needed > out.capacity { out.reserveCapacity(Swift.max(needed, 2 * out.capacity)) }
        out.append(0x22)
        var run = 0
        for i in utf8.indices {
            let b = utf8[i]
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<i])) }
            run = i + 1
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            }
        }
        if run < utf8.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...])) }
        out.append(0x22)
    }
}
