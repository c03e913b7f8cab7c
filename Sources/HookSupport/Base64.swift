/// Standard and URL-safe base64 (RFC 4648), pure Swift so verification needs no Foundation.
public enum Base64 {
    private static let std = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let url = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes with `=` padding (standard alphabet) or unpadded (URL alphabet).
    public static func encode(_ data: [UInt8], urlSafe: Bool = false) -> String {
        let table = urlSafe ? url : std
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= data.count {
            let v = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            // Appends, not `+= [...]`: an array literal per 3 bytes was an allocation each (every
            // HMAC signature is encoded on the acknowledgement path).
            out.append(table[Int(v >> 18 & 63)])
            out.append(table[Int(v >> 12 & 63)])
            out.append(table[Int(v >> 6 & 63)])
            out.append(table[Int(v & 63)])
            i += 3
        }
        let rest = data.count - i
        if rest > 0 {
            var v = UInt32(data[i]) << 16
            if rest == 2 { v |= UInt32(data[i + 1]) << 8 }
            out.append(table[Int(v >> 18 & 63)])
            out.append(table[Int(v >> 12 & 63)])
            if rest == 2 { out.append(table[Int(v >> 6 & 63)]) }
            if !urlSafe { out += Array(repeating: UInt8(ascii: "="), count: 3 - rest) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes either alphabet, with or without padding; nil on any invalid character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var vals: [UInt8] = []
        vals.reserveCapacity(text.utf8.count)
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0 else { return nil }  // data after padding
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            default: return nil
            }
            vals.append(v)
        }
        guard padding <= 2, vals.count % 4 != 1 else { return nil }
        if padding > 0, (vals.count + padding) % 4 != 0 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(vals.count * 3 / 4)
        var i = 0
        while i + 4 <= vals.count {
            let v = UInt32(vals[i]) << 18 | UInt32(vals[i + 1]) << 12 | UInt32(vals[i + 2]) << 6 | UInt32(vals[i + 3])
            // Three appends, not `+= [a, b, c]`: that allocated an array per 3 bytes (a hot spot
            // when decoding JWT segments).
            out.append(UInt8(v >> 16 & 0xFF))
            out.append(UInt8(v >> 8 & 0xFF))
            out.append(UInt8(v & 0xFF))
            i += 4
        }
        let rest = vals.count - i
        if rest >= 2 {
            var v = UInt32(vals[i]) << 18 | UInt32(vals[i + 1]) << 12
            if rest == 3 { v |= UInt32(vals[i + 2]) << 6 }
            out.append(UInt8(v >> 16 & 0xFF))
            if rest == 3 { out.append(UInt8(v >> 8 & 0xFF)) }
        }
        return out
    }
}
