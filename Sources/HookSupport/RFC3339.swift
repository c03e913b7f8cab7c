import Glibc

/// Strict RFC 3339 UTC times as Google's APIs write them (`2026-12-08T17:40:00Z`,
/// `2026-12-08T17:40:00.123456Z`): a four-digit year, `T`, `Z`, at most nine fraction digits.
/// Everything else (offsets, `1e999`, a five-digit year, 2026-02-30) is refused, not guessed at.
public enum RFC3339 {
    /// Seconds since the epoch, or nil.
    public static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.count <= 30, b[10] == UInt8(ascii: "T"), b.last == UInt8(ascii: "Z"),
              let f = fields(b), f.y >= 1970, f.s < 60 else { return nil }
        var fraction = 0.0
        if b.count > 20 {
            let digits = b[20..<(b.count - 1)]
            guard b[19] == UInt8(ascii: "."), !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let v = Double("0." + String(decoding: digits, as: UTF8.self)) else { return nil }
            fraction = v
        }
        return epoch(f, exact: true).map { $0 + fraction }
    }

    /// The wider form API answers may use (`createTime`, `endTime`): `t`/`z` in either case, any
    /// number of fraction digits, a leap second, and `±hh:mm` offsets. Still nil for anything else.
    public static func parseAnswer(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.count <= 64, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"), let f = fields(b) else { return nil }
        var i = 19, fraction = 0.0
        if b[i] == UInt8(ascii: ".") {
            var scale = 0.1
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { fraction += Double(b[i] - 0x30) * scale; scale /= 10; i += 1 }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0.0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i == b.count - 1 else { return nil }
        } else {
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), b.count == i + 6, b[i + 3] == UInt8(ascii: ":"),
                  let oh = number(b, i + 1, 2), let om = number(b, i + 4, 2), oh < 24, om < 60 else { return nil }
            offset = Double(b[i] == UInt8(ascii: "+") ? 1 : -1) * Double(oh * 3600 + om * 60)
        }
        return epoch(f, exact: false).map { $0 - offset + fraction }
    }

    /// `2026-12-08T17:40:00Z` (whole seconds, rounded down): what the secrets file is written with.
    public static func format(_ t: Double) -> String {
        String(formatTimestamp(t.rounded(.down)).prefix(19)) + "Z"
    }

    private struct Fields { var y, mo, d, h, mi, s: Int32 }

    /// `YYYY-MM-DD?hh:mm:ss` at the start of `b`, each field in its range (seconds up to 60).
    private static func fields(_ b: [UInt8]) -> Fields? {
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = number(b, 0, 4), let mo = number(b, 5, 2), let d = number(b, 8, 2),
              let h = number(b, 11, 2), let mi = number(b, 14, 2), let s = number(b, 17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s <= 60 else { return nil }
        return Fields(y: y, mo: mo, d: d, h: h, mi: mi, s: s)
    }

    private static func number(_ b: [UInt8], _ from: Int, _ count: Int) -> Int32? {
        guard from + count <= b.count else { return nil }
        var v: Int32 = 0
        for c in b[from..<(from + count)] {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int32(c - 0x30)
        }
        return v
    }

    /// Seconds since the epoch; `exact`: a date that does not come back as written is refused
    /// (timegm moves 2026-02-30 to 2 March).
    private static func epoch(_ f: Fields, exact: Bool) -> Double? {
        var tm = Glibc.tm()
        tm.tm_year = f.y - 1900; tm.tm_mon = f.mo - 1; tm.tm_mday = f.d; tm.tm_hour = f.h; tm.tm_min = f.mi; tm.tm_sec = f.s
        let asked = tm
        let t = timegm(&tm)
        if exact { guard tm.tm_year == asked.tm_year, tm.tm_mon == asked.tm_mon, tm.tm_mday == asked.tm_mday else { return nil } }
        return Double(t)
    }
}
