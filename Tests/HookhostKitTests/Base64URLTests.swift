import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct Base64URLTests {
    @Test func strictDecoding() {
        #expect(Base64URL.decode("") == [])
        #expect(Base64URL.decode("-_8") == [0xFB, 0xFF])
        #expect(Base64URL.decode("+/8") == nil)          // standard alphabet
        #expect(Base64URL.decode("-_8=") == nil)         // padding
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QR") == nil)           // unused bits set: not the canonical spelling
        #expect(Base64URL.decode("QUI") == [0x41, 0x42])
        #expect(Base64URL.decode("QUJ") == nil)
        #expect(Base64URL.decode("QUJDR") == nil)        // length 5: impossible
        #expect(Base64URL.decode("QU JD") == nil)
    }

    @Test func roundTripsEveryLengthAndAgreesWithTheGeneralDecoder() {
        var g = SystemRandomNumberGenerator()
        for n in 0..<100 {
            let b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            let text = Base64URL.encode(b)
            #expect(Base64URL.decode(text) == b)
            #expect(Base64URL.decode(bytes: ArraySlice(Array(text.utf8))) == Base64.decode(text))
        }
    }

    // Strictness unchanged by the table decoder.
    /// The strict rules, spelled out independently: URL alphabet, no padding, length % 4 != 1,
    /// canonical last character; decoded by the plain (non-URL-strict) decoder.
    static func reference(_ bytes: [UInt8]) -> [UInt8]? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        guard bytes.count % 4 != 1 else { return nil }
        var values: [UInt8] = []
        for b in bytes {
            guard let v = alphabet.firstIndex(of: b) else { return nil }
            values.append(UInt8(v))
        }
        if let last = values.last {
            if bytes.count % 4 == 2, last & 0x0F != 0 { return nil }
            if bytes.count % 4 == 3, last & 0x03 != 0 { return nil }
        }
        var bits: UInt32 = 0, n = 0
        var out: [UInt8] = []
        for v in values {
            bits = bits << 6 | UInt32(v); n += 6
            if n >= 8 { n -= 8; out.append(UInt8(bits >> UInt32(n) & 0xFF)) }
        }
        return out
    }

    @Test func base64URLMatchesTheStrictReference() {
        var g = SplitMix64(state: 0x5EED_0003)
        let pool = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_AQgw".utf8) + [0x2B, 0x2F, 0x3D, 0x2E, 0x20, 0x00, 0x80, 0xC3, 0xA9, 0xFF]
        for _ in 0..<50_000 {
            let len = Int.random(in: 0...13, using: &g)
            var s: [UInt8] = (0..<len).map { _ in pool[Int.random(in: 0..<(Bool.random(using: &g) ? 64 : pool.count), using: &g)] }
            if len > 0, Int.random(in: 0..<4, using: &g) == 0 { s[len - 1] = pool[Int.random(in: 60..<68, using: &g)] }
            let want = Self.reference(s)
            #expect(Base64URL.decode(bytes: ArraySlice(s)) == want, "\(s)")
            // A slice not starting at 0 (as CompactJWS hands it) decodes the same.
            let padded = [0x2E] + s + [0x2E]
            #expect(Base64URL.decode(bytes: padded[1..<(padded.count - 1)]) == want, "\(s) as a slice")
            if let want { #expect(Base64URL.encode(want) == String(decoding: s, as: UTF8.self)) }  // canonical only
        }
    }
}
