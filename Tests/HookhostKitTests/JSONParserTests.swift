import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct JSONParserTests {
    @Test func parsesNestedDocumentAndKeepsNumberText() throws {
        let v = try JSONParser.parse(#"{"a":[1,2.5e3,-0],"big":123456789012345678901234567890,"s":"x\"\u00e9\ud83d\ude00","t":true,"n":null}"#)
        #expect(v["big"] == .number("123456789012345678901234567890"))
        #expect(v["s"]?.stringValue == "x\"é😀")
        #expect(v["t"] == .bool(true))
        #expect(v["n"] == .null)
        #expect(v["a"] == .array([.number("1"), .number("2.5e3"), .number("-0")]))
    }

    @Test func memberRangesPointAtRawBytes() throws {
        let text = #"{"data": {"user_metadata" : {"k": [1, 2]} }}"#
        let b = Array(text.utf8)
        let v = try JSONParser.parse(b)
        let m = try #require(v["data"]?.member("user_metadata"))
        #expect(String(decoding: b[m.valueRange], as: UTF8.self) == #"{"k": [1, 2]}"#)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "{\"a\" 1}", "tru", "{} {}",
                      "\"\\ud800\"", "nul", "[1 2]", "{\"a\":1,}"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONParser.parse(ok)) != nil)
    }

    @Test func writerRoundTripsAndEscapes() throws {
        var w = JSONWriter()
        w.beginObject()
        w.field("s", "a\"b\\c\n\u{01}")
        w.field("i", 3)
        w.key("arr"); w.beginArray(); w.int(1); w.null(); w.bool(false); w.endArray()
        w.key("raw"); w.raw(Array(#"{"x":1}"#.utf8))
        w.endObject()
        #expect(w.string == #"{"s":"a\"b\\c\n\u0001","i":3,"arr":[1,null,false],"raw":{"x":1}}"#)
        let back = try JSONParser.parse(w.bytes)
        #expect(back["s"]?.stringValue == "a\"b\\c\n\u{01}")
    }

    /// The escaper copies unescaped runs whole: every ASCII byte, at the start, middle and end of
    /// a run, and multi-byte characters must come out as the byte-by-byte rules say.
    @Test func escapingMatchesTheByteRulesAtEveryPosition() throws {
        func reference(_ s: String) -> String {
            var out = "\""
            for b in s.utf8 {
                switch b {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0..<0x20: out += "\\u00" + String(format2: b)
                default: out.unicodeScalars.append(Unicode.Scalar(b))
                }
            }
            return out + "\""
        }
        var cases = ["", "plain", "é😀 ünï", "\"", "\\", "a\"", "\"a", "x\u{1F}y\u{7F}z"]
        for b in UInt8(0)...0x7F { cases += [String(UnicodeScalar(b)), "ab" + String(UnicodeScalar(b)), String(UnicodeScalar(b)) + "cd", "é" + String(UnicodeScalar(b)) + "😀"] }
        for s in cases {
            var out: [UInt8] = [0x5B]  // something before: the escaper appends
            JSONWriter.appendEscaped(s, to: &out)
            let written = String(decoding: out.dropFirst(), as: UTF8.self)
            if s.utf8.allSatisfy({ $0 < 0x80 }) { #expect(written == reference(s), "\(Array(s.utf8))") }
            #expect(try JSONParser.parse(Array(out.dropFirst())).stringValue == s, "\(Array(s.utf8))")
        }
    }

    /// Escaping into a full buffer must grow it geometrically, like `append`: an exact
    /// `reserveCapacity` per call reallocates on nearly every call when strings are escaped back to
    /// back into one buffer, which is quadratic.
    @Test func escapingIntoAFullBufferGrowsItGeometrically() {
        var out: [UInt8] = []
        while out.count < 4096 || out.count < out.capacity { out.append(0x20) }
        let full = out.count
        JSONWriter.appendEscaped("abc", to: &out)
        #expect(out.count == full + 5)
        #expect(out.capacity >= full + full / 2, "capacity \(out.capacity) after growing from \(full)")
    }
}

private extension String {
    /// Two lowercase hex digits.
    init(format2 b: UInt8) {
        let hex = Array("0123456789abcdef")
        self = String([hex[Int(b >> 4)], hex[Int(b & 0xF)]])
    }
}
