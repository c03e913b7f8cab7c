import Glibc

/// Strict RFC 3339 UTC times as Google's APIs write them (`2026-12-08T17:40:00Z`,
/// `2026-12-08T17:40:00.123456Z`): a four-digit year, `T`, `Z`, at most nine fraction digits.
/// Everything else (offsets, `1e999`, a five-digit year, 2026-02-30) is refused, not guessed at.
public enum RFC3339 {
    /// Seconds since the epoch, or nil.
    public static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.count <= 30, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b.last == UInt8(ascii: "Z") else { return nil }
        func num(_ from: Int, _ count: Int) -> Int32? {
            var v: Int32 = 0
            for c in b[from..<(from + count)] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int32(c - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              y >= 1970, (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60 else { return nil }
        var fraction = 0.0
        if b.count > 20 {
            let digits = b[20..<(b.count - 1)]
            guard b[19] == UInt8(ascii: "."), !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let f = Double("0." + String(decoding: digits, as: UTF8.self)) else { return nil }
            fraction = f
        }
        var tm = Glibc.tm()
        tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d; tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s
        let asked = tm
        let t = timegm(&tm)
        // timegm moves 2026-02-30 to 2 March: a date that does not come back as written is refused.
        guard tm.tm_year == asked.tm_year, tm.tm_mon == asked.tm_mon, tm.tm_mday == asked.tm_mday else { return nil }
        return Double(t) + fraction
    }

    /// `2026-12-08T17:40:00Z` (whole seconds, rounded down): what the secrets file is written with.
    public static func format(_ t: Double) -> String {
        String(formatTimestamp(t.rounded(.down)).prefix(19)) + "Z"
    }
}
