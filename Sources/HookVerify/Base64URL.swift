import HookSupport
import HookNet
import HookHTTP
/// Strict base64url for JWTs (RFC 7515 §2): URL alphabet only, no padding, and the canonical
/// spelling only — a last character with unused low bits set decodes to the same bytes as the
/// canonical one, and accepting both would make one signature have several spellings.
public enum Base64URL {
    /// The bytes, or nil when `text` is not strict unpadded base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? { decode(bytes: ArraySlice(text.utf8)) }

    /// The same over bytes, in one pass with a table: every JWT delivery decodes three segments.
    public static func decode(bytes: ArraySlice<UInt8>) -> [UInt8]? {
        guard bytes.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var acc: UInt32 = 0, n = 0
        var last: UInt8 = 0
        for c in bytes {
            let v = table[Int(c)]
            guard v != 0xFF else { return nil }
            last = v
            acc = acc << 6 | UInt32(v)
            n += 1
            if n == 4 {
                out.append(UInt8(acc >> 16 & 0xFF)); out.append(UInt8(acc >> 8 & 0xFF)); out.append(UInt8(acc & 0xFF))
                acc = 0
                n = 0
            }
        }
        switch n {
        case 2:
            guard last & 0x0F == 0 else { return nil }  // 1 byte: the last character carries 4 unused bits
            out.append(UInt8(acc >> 4 & 0xFF))
        case 3:
            guard last & 0x03 == 0 else { return nil }  // 2 bytes: 2 unused bits
            out.append(UInt8(acc >> 10 & 0xFF)); out.append(UInt8(acc >> 2 & 0xFF))
        default: break
        }
        return out
    }

    /// Each byte's 6-bit value in the URL alphabet, 0xFF for every other byte.
    private static let table: [UInt8] = (0..<256).map { c in value(UInt8(c)) ?? 0xFF }

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
