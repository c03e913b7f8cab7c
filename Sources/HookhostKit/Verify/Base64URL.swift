/// Strict base64url for JWTs (RFC 7515 §2): URL alphabet only, no padding, and the canonical
/// spelling only — a last character with unused low bits set decodes to the same bytes as the
/// canonical one, and accepting both would make one signature have several spellings.
public enum Base64URL {
    /// The bytes, or nil when `text` is not strict unpadded base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = text.utf8
        guard utf8.count % 4 != 1 else { return nil }
        var last: UInt8 = 0
        for c in utf8 {
            guard let v = value(c) else { return nil }
            last = v
        }
        switch utf8.count % 4 {
        case 2: if last & 0x0F != 0 { return nil }  // 1 byte: the last character carries 4 unused bits
        case 3: if last & 0x03 != 0 { return nil }  // 2 bytes: 2 unused bits
        default: break
        }
        return Base64.decode(text)
    }

    /// Unpadded base64url of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String { Base64.encode(bytes, urlSafe: true) }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
