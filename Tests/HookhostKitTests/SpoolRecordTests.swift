import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct SpoolRecordTests {
    @Test func roundTripsEveryKind() {
        var change = StateChange(id: "a", state: .retryScheduled, attempt: 2, at: 10.5, nextAt: 20, error: "exited with status 1",
                                 function: "batch", exitCode: 1, durationMs: 7, output: bytes(#"{"x":[1,2]}"#), stderrTail: "tail\n")
        change.attemptBase = 1
        let records: [SpoolRecord] = [
            .delivery(id: "a", type: "batch.succeeded", receivedAt: 1.25, verifiedBy: .hmac, body: bytes("{\"type\":\"x\"}\n\0\u{1}")),
            .state(change), .seen(id: "b", at: 3), .forget(id: "c"), .noop,
        ]
        let image = records.flatMap { $0.encoded() }
        let scan = SpoolScanner.scan(image)
        #expect(scan.records.map(\.record) == records)
        #expect(scan.skippedBytes == 0)
        #expect(scan.validEnd == Int64(image.count))
    }

    /// The meta of an encoded frame and its body, as `decode` splits them.
    static func metaAndBody(_ r: SpoolRecord) -> (ArraySlice<UInt8>, [UInt8]) {
        let f = r.encoded()
        let payload = f[SpoolRecord.headerSize...]
        let metaLen = Int(readLE(payload, at: payload.startIndex))
        let metaStart = payload.startIndex + 4
        return (payload[metaStart..<(metaStart + metaLen)], Array(payload[(metaStart + metaLen)...]))
    }

    @Test func commonKindsAreReadWithoutTheParserAndAgreeWithIt() {
        let jwt = JWTIdentity(keyID: "k1", claims: bytes(#"{"sub":"x","n":[1,2]}"#))
        let plain: [SpoolRecord] = [
            .seen(id: "a", at: 1733100000.123456), .seen(id: "e\u{301}-ü-🙂", at: 0.5), .seen(id: "x", at: 1e21),
            .delivery(id: "d1", type: "batch.succeeded", receivedAt: 1733100000.25, verifiedBy: .hmac, body: bytes("{}")),
            .delivery(id: "d2", type: "video.generated", receivedAt: 2, verifiedBy: .jwt, body: bytes(#"{"a":1}"#), jwt: jwt),
        ]
        for r in plain {
            let (meta, body) = Self.metaAndBody(r)
            #expect(SpoolRecord.decodeCommon(meta: meta, body: body, bodies: true) == r)
            #expect(SpoolScanner.scan(r.encoded()).records.map(\.record) == [r])
        }
        // Escapes, control characters and other kinds go to the parser, which still reads them.
        let others: [SpoolRecord] = [.seen(id: "quo\"te", at: 1), .seen(id: "back\\slash", at: 1), .seen(id: "tab\t", at: 1),
                                     .delivery(id: "n\nl", type: "t", receivedAt: 1, verifiedBy: .hmac, body: []),
                                     .forget(id: "a"), .noop, .state(StateChange(id: "a", state: .done, attempt: 1, at: 3))]
        for r in others {
            let (meta, body) = Self.metaAndBody(r)
            #expect(SpoolRecord.decodeCommon(meta: meta, body: body, bodies: true) == nil)
            #expect(SpoolScanner.scan(r.encoded()).records.map(\.record) == [r])
        }
    }

    /// What the emit budget counts is what is written.
    @Test func encodedCountIsTheEncodedSize() {
        let head = DeliveryHead(userMetadata: bytes(#"{"g":1}"#), chain: .init(parent: "p", root: "p", depth: 1))
        let records: [SpoolRecord] = [
            .seen(id: "a", at: 1733100000.123456), .noop, .forget(id: "quo\"te"),
            .delivery(id: "d", type: "app.x", receivedAt: 2.5, verifiedBy: .parent, body: bytes(#"{"type":"app.x","user_metadata":{"g":1}}"#), head: head),
            .delivery(id: "d", type: "app.x", receivedAt: 2.5, verifiedBy: .parent, body: bytes("{}"), head: head),
            .state(StateChange(id: "a", state: .done, attempt: 1, at: 3)),
        ]
        for r in records { #expect(r.encodedCount == r.encoded().count) }
        let batch = SpoolRecord.batch(of: records.filter { if case .delivery = $0 { return true }; return false })
        #expect(batch.encodedCount == batch.encoded().count)
    }

    @Test func metaNumbersFollowJSONGrammar() {
        for (text, want) in [("0", 0.0), ("-0", -0.0), ("12.5", 12.5), ("1e3", 1000), ("1E+2", 100), ("2.5e-1", 0.25)] as [(String, Double)] {
            var c = MetaCursor(ArraySlice(Array(text.utf8)))
            #expect(c.number() == want, "\(text)")
            #expect(c.atEnd)
        }
        for text in ["+5", ".5", "01", "1.", "1e", "-", "e5", "1.e3"] {
            var c = MetaCursor(ArraySlice(Array(text.utf8)))
            let n = c.number()
            #expect(n == nil || !c.atEnd, "\(text) must not read as a whole number")
        }
    }

    @Test func crc32cHardwareAndTableAgree() {
        #expect(CRC32C.checksum(bytes("123456789")) == 0xE306_9283)  // the standard check value
        #expect(CRC32C.tableChecksum(bytes("123456789")) == 0xE306_9283)
        var g = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &g) }
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 299] {
            for start in [0, 1, 3] where start + n <= data.count {
                let slice = data[start..<(start + n)]
                let seed = UInt32.random(in: 0...UInt32.max, using: &g)
                #expect(CRC32C.checksum(slice, seed: seed) == CRC32C.tableChecksum(slice, seed: seed))
                #expect(CRC32C.checksum(Array(slice)) == CRC32C.tableChecksum(slice))
            }
        }
    }

    @Test func tornTailIsIgnored() {
        let a = SpoolRecord.seen(id: "a", at: 1).encoded(), b = SpoolRecord.seen(id: "b", at: 2).encoded()
        for cut in 1..<b.count {
            let scan = SpoolScanner.scan(a + b.prefix(cut))
            #expect(scan.records.map(\.record) == [.seen(id: "a", at: 1)])
            #expect(scan.validEnd == Int64(a.count))
        }
    }

    @Test func corruptRecordInTheMiddleDoesNotHideLaterOnes() {
        let a = SpoolRecord.seen(id: "a", at: 1).encoded()
        var b = SpoolRecord.seen(id: "b", at: 2).encoded()
        let c = SpoolRecord.seen(id: "c", at: 3).encoded()
        b[b.count - 3] ^= 0xFF
        let scan = SpoolScanner.scan(a + b + c)
        #expect(scan.records.map(\.record) == [.seen(id: "a", at: 1), .seen(id: "c", at: 3)])
        #expect(scan.skippedBytes == b.count)
    }

    // MARK: - SpoolRecord.decodeCommon agrees with the parser path

    /// The parser path of `SpoolRecord.decode` (without the fast path in front).
    static func parserPath(meta: [UInt8], body: [UInt8], bodies: Bool) -> SpoolRecord? {
        SpoolRecord.decodeParsed(meta: meta, body: body, bodies: bodies)
    }

    /// `==` plus the bit pattern of the time (so -0 vs 0 or a rounding difference shows).
    static func same(_ a: SpoolRecord, _ b: SpoolRecord) -> Bool {
        guard a == b else { return false }
        switch (a, b) {
        case (.delivery(_, _, let x, _, _, _, _), .delivery(_, _, let y, _, _, _, _)): return x.bitPattern == y.bitPattern
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

    // Issue 12 item 2: mistakes are reported, not swallowed.
    @Test func stdoutHeadSurvivesTheSpoolRecord() {
        var change = StateChange(id: "a", state: .done, attempt: 1, at: 1)
        change.stdoutHead = "not json\n\"quoted\""
        let bytes = SpoolRecord.state(change).encoded()
        let scan = SpoolScanner.scan(bytes)
        guard case .state(let back)? = scan.records.first?.record else { Issue.record("no record"); return }
        #expect(back.stdoutHead == change.stdoutHead)
        // Records written before the field read as before.
        let old = SpoolRecord.state(StateChange(id: "a", state: .done, attempt: 1, at: 1)).encoded()
        guard case .state(let plain)? = SpoolScanner.scan(old).records.first?.record else { Issue.record("no record"); return }
        #expect(plain.stdoutHead == nil)
    }

    // The key id and claims of a JWT delivery travel from admission through the spool to stdin.
    @Test func deliveryRecordRoundTripsKeyAndClaims() {
        let rec = SpoolRecord.delivery(id: "a", type: "t", receivedAt: 1, verifiedBy: .jwt, body: bytes("{}"), jwt: sampleJWTIdentity)
        #expect(SpoolScanner.scan(rec.encoded()).records.map(\.record) == [rec])
    }

    @Test func recordsWrittenBeforeJWTSupportStillDecode() {
        // The metadata of a delivery record as the previous version wrote it: no kid, no claims.
        let meta = bytes(#"{"k":"d","id":"old","type":"t","at":1.5,"vb":"hmac"}"#)
        var payload: [UInt8] = []
        appendLE(UInt32(meta.count), to: &payload)
        payload += meta + bytes("{}")
        #expect(SpoolRecord.decode(payload: payload[...]) == .delivery(id: "old", type: "t", receivedAt: 1.5, verifiedBy: .hmac, body: bytes("{}")))
    }
}
