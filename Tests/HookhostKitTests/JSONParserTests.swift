import Testing
@testable import HookhostKit

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
}
