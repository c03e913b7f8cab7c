import Testing
@testable import HookhostKit

/// Deterministic generator so a failure names a reproducible seed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct Review4Tests {
    // MARK: - SpoolRecord.decodeCommon agrees with the parser path

    /// The parser path of `SpoolRecord.decode` (without the fast path in front).
    static func parserPath(meta: [UInt8], body: [UInt8], bodies: Bool) -> SpoolRecord? {
        SpoolRecord.decodeParsed(meta: meta, body: body, bodies: bodies)
    }

    /// `==` plus the bit pattern of the time (so -0 vs 0 or a rounding difference shows).
    static func same(_ a: SpoolRecord, _ b: SpoolRecord) -> Bool {
        guard a == b else { return false }
        switch (a, b) {
        case (.delivery(_, _, let x, _, _, _), .delivery(_, _, let y, _, _, _)): return x.bitPattern == y.bitPattern
        case (.seen(_, let x), .seen(_, let y)): return x.bitPattern == y.bitPattern
        default: return true
        }
    }

    static let stringPieces: [[UInt8]] = [
        Array("a".utf8), Array("evt_123".utf8), Array("batch.succeeded".utf8), Array("hmac".utf8), Array("jwt".utf8),
        Array("é".utf8), Array("😀".utf8), Array("\u{FEFF}".utf8), Array("\u{FFFF}".utf8), Array("\u{10FFFF}".utf8),
        Array("\u{0301}".utf8), Array("\u{2028}".utf8), [0x7F],
        Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\/"#.utf8), Array(#"\n"#.utf8), Array(#"\u00e9"#.utf8),
        Array(#"\ud83d\ude00"#.utf8), Array(#"\ud800"#.utf8), Array(#"\x"#.utf8), Array(#"\u12"#.utf8),
        [0x01], [0x1F], [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80],
        Array("AAEC".utf8), Array("AQ".utf8), Array("AR".utf8), Array("-_".utf8), Array("+/".utf8), Array("==".utf8), [],
    ]
    static let numbers = ["0", "-0", "1", "1.5", "-1.25", "1733100000.25", "1e308", "1e309", "-1e309", "5e-324", "2e-324",
                          "1e-400", "1E5", "1e+5", "1e-5", "01", "1.", "-", "1.e5", ".5", "+1", "-0.0", "0.000",
                          "123456789012345678901234567890", "1e99999999999999999999", "1.7976931348623157e308",
                          "4.9406564584124654e-324", "2.2250738585072011e-308", "0e0", "-0e-0", "1e", "1e+", "NaN", "Infinity"]

    static func string<G: RandomNumberGenerator>(_ g: inout G) -> [UInt8] {
        var s: [UInt8] = [0x22]
        for _ in 0..<Int.random(in: 0...3, using: &g) { s += stringPieces.randomElement(using: &g)! }
        s.append(0x22)
        return s
    }

    static func meta<G: RandomNumberGenerator>(_ g: inout G) -> [UInt8] {
        let kind = Int.random(in: 0..<10, using: &g)
        var fields: [(String, [UInt8])] = []
        func num() -> [UInt8] { Array(numbers.randomElement(using: &g)!.utf8) }
        if kind < 4 {
            fields = [("k", Array(#""seen""#.utf8)), ("id", string(&g)), ("at", num())]
        } else {
            let vbs = [#""hmac""#, #""jwt""#, #""none""#, #""HMAC""#]
            fields = [("k", Array(#""d""#.utf8)), ("id", string(&g)), ("type", string(&g)), ("at", num()),
                      ("vb", Bool.random(using: &g) ? Array(vbs[Int.random(in: 0..<2, using: &g)].utf8) : Array(vbs.randomElement(using: &g)!.utf8))]
            switch Int.random(in: 0..<5, using: &g) {
            case 0: break
            case 1: fields.append(("kid", string(&g)))  // kid without cl
            case 2: fields += [("kid", string(&g)), ("cl", Array(#""@@@""#.utf8))]  // cl not base64
            default: fields += [("kid", string(&g)), ("cl", string(&g))]
            }
        }
        // Mutations: an extra field, a duplicate, a reorder, a value of another JSON type.
        switch Int.random(in: 0..<12, using: &g) {
        case 0: fields.append(("x", Array("1".utf8)))
        case 1: fields.insert(("id", string(&g)), at: Int.random(in: 0...fields.count, using: &g))
        case 2: fields.swapAt(Int.random(in: 0..<fields.count, using: &g), Int.random(in: 0..<fields.count, using: &g))
        case 3: fields[Int.random(in: 0..<fields.count, using: &g)].1 = Array("null".utf8)
        case 4: fields.remove(at: Int.random(in: 0..<fields.count, using: &g))
        default: break
        }
        var out: [UInt8] = [0x7B]
        for (n, (k, v)) in fields.enumerated() {
            if n > 0 { out.append(0x2C) }
            out += Array("\"\(k)\":".utf8) + v
        }
        out.append(0x7D)
        switch Int.random(in: 0..<10, using: &g) {
        case 0: out = Array(out.prefix(Int.random(in: 0...out.count, using: &g)))  // truncated
        case 1: out.append(0x20)
        case 2: out.insert(0x20, at: Int.random(in: 0...out.count, using: &g))
        case 3: out += Array("}".utf8)
        default: break
        }
        return out
    }

    @Test func decodeCommonOnlyEverAgreesWithTheParser() {
        var g = SplitMix64(state: 0x5EED_0004)
        var fastHits = 0
        for n in 0..<40_000 {
            let m = Self.meta(&g)
            let body: [UInt8] = Bool.random(using: &g) ? Array("{\"a\":1}".utf8) : []
            for bodies in [true, false] {
                let b = bodies ? body : []
                guard let fast = SpoolRecord.decodeCommon(meta: ArraySlice(m), body: b, bodies: bodies) else { continue }
                fastHits += 1
                let slow = Self.parserPath(meta: m, body: b, bodies: bodies)
                #expect(slow.map { Self.same(fast, $0) } == true,
                        "case \(n) bodies=\(bodies): \(String(decoding: m, as: UTF8.self)) fast=\(fast) parser=\(String(describing: slow))")
            }
        }
        #expect(fastHits > 1000)  // the generator does reach the fast path
    }

    /// Whatever the fast path gives for an encoded record must be that record.
    @Test func encodedRecordsRoundTripThroughDecode() {
        var g = SplitMix64(state: 0x5EED_0005)
        let texts = ["a", "é😀", "\u{FEFF}x", "\u{10FFFF}", "tab\t", "q\"", "b\\", "\u{7F}", "\u{2028}", ""]
        let times: [Double] = [0, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 1733100000.25, 0.1, 1e-300, 123456789.123456789]
        for _ in 0..<2000 {
            let id = texts.randomElement(using: &g)! + texts.randomElement(using: &g)!
            let at = times.randomElement(using: &g)!
            let jwt: JWTIdentity? = Bool.random(using: &g) ? JWTIdentity(keyID: texts.randomElement(using: &g)!, claims: Array("{\"sub\":\"x\"}".utf8)) : nil
            for r in [SpoolRecord.seen(id: id, at: at),
                      .delivery(id: id, type: texts.randomElement(using: &g)!, receivedAt: at, verifiedBy: .jwt, body: [1, 2], jwt: jwt)] {
                let decoded = SpoolScanner.scan(r.encoded()).records.first?.record
                #expect(decoded.map { Self.same($0, r) } == true, "\(r) -> \(String(describing: decoded))")
            }
        }
    }

    // MARK: - Base64URL strictness unchanged by the table decoder

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

    @Test func compactJWSRefusesAnEmptySignatureAndNonASCII() {
        let h = Base64URL.encode(Array(#"{"alg":"RS256","kid":"k1"}"#.utf8)), p = Base64URL.encode(Array(#"{"sub":"x"}"#.utf8))
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p).") }
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p)é.AQAB") }
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p).AQAB=") }
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p).AR") }
        #expect((try? CompactJWS.parse("\(h).\(p).AQAB"))?.signature == [1, 0, 1])
    }
}

import CCurl
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// shim.h's loader kept its state in `static` locals of a `static inline` function: every Swift
/// file (LLVM module) calling it got its own copy, so libcurl was dlopen'ed and curl_global_init
/// run once per calling file (concurrently from the fetchers and the JWKS refresher), and
/// hh_curl_loaded() only knew about its own file's copy.
@Suite struct CurlLoaderTests {
    @Test func libcurlIsLoadedOnceForTheWholeProcess() {
        guard CurlTransfer() != nil else { return }  // loads libcurl through CurlTransfer.swift's call sites
        #expect(hh_curl_loaded() != 0, "the loader's state must be shared by every caller")
    }
}
