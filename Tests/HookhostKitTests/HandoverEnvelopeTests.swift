import Testing
@testable import HookSupport
@testable import HookVerify
@testable import HookSpool

@Suite struct HandoverEnvelopeTests {
    static func sample() -> HandoverEnvelope {
        var retry = StateChange(id: "wh_1", state: .retryScheduled, attempt: 2, at: 1_800_000_100, nextAt: 1_800_000_400,
                                error: "exited with status 75", function: "batch.succeeded", exitCode: 75, durationMs: 12,
                                output: Array(#"{"deep":[[[{"a":"é"}]]]}"#.utf8), stderrTail: "line\n")
        retry.retryLaterSince = 1_800_000_000
        retry.attemptBase = 1
        let result = FetchedResult(uri: "https://x/files/abc", path: "/data/results/abc", bytes: 10, sha256: String(repeating: "a", count: 64),
                                   contentType: "application/jsonl", fetchMs: 4)
        return HandoverEnvelope(id: "wh_1", type: "batch.succeeded", body: Array(#"{"type":"batch.succeeded","data":{"id":"batches/1"}}"#.utf8),
                                receivedAt: 1_800_000_000.25, verifiedBy: .jwt, jwt: sampleJWTIdentity,
                                head: DeliveryHead(userMetadata: Array(#"{"k":[1,{"x":null}]}"#.utf8), job: "batches/1", result: "files/abc",
                                                   chain: DeliveryHead.Chain(parent: "wh_0", root: "wh_r", depth: 2)),
                                state: .retryScheduled, attempt: 2, attemptBase: 1, nextAt: 1_800_000_400, retryLaterSince: 1_800_000_000,
                                function: "batch.succeeded", lastError: "exited with status 75", result: result,
                                history: [StateChange(id: "wh_1", state: .dead, attempt: 1, at: 1_799_999_000, error: "boom"), retry],
                                from: HandoverEnvelope.Origin(name: "pod-0", address: "10.0.0.1:8080"))
    }

    @Test func itRoundTrips() throws {
        let e = Self.sample()
        let back = try HandoverEnvelope.decode(e.encoded())
        #expect(back.history == e.history)
        #expect(back.head == e.head)
        #expect(back.jwt == e.jwt)
        #expect(back == e)
        let plain = HandoverEnvelope(id: "x", type: "ping", body: [], receivedAt: 1, verifiedBy: .hmac, from: .init(name: "a", address: ""))
        #expect(try HandoverEnvelope.decode(plain.encoded()) == plain)
    }

    @Test func theNoteNamesTheReplicaAndTheResultDownloadedAgain() {
        #expect(Self.sample().note == "handed over from pod-0 (10.0.0.1:8080); its result https://x/files/abc was downloaded there and is downloaded again here")
    }

    /// The sample's JSON with `edit` applied to its top-level object.
    static func edited(_ edit: (inout [String: Any]) -> Void) -> [UInt8] {
        guard case .object(let members) = try! JSONParser.parse(sample().encoded()) else { return [] }
        var doc: [String: Any] = [:]
        for m in members { var w = JSONWriter(); w.value(m.value); doc[m.key] = RawJSON(w.bytes) }
        edit(&doc)
        var out: [UInt8] = Array("{".utf8)
        for (i, (k, v)) in doc.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out += Array(",".utf8) }
            var w = JSONWriter(); w.string(k); out += w.bytes + Array(":".utf8)
            out += (v as? RawJSON)?.bytes ?? Array("\(v)".utf8)
        }
        return out + Array("}".utf8)
    }

    struct RawJSON { let bytes: [UInt8]; init(_ b: [UInt8]) { bytes = b }; init(_ s: String) { bytes = Array(s.utf8) } }

    static let malformed: [(String, [UInt8], String)] = [
        ("not JSON", Array("{".utf8), "body is not a hand-over"),
        ("an array", Array("[]".utf8), "not a JSON object"),
        ("deep nesting", Array((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8), "deeper than 4 levels"),
        ("nested too deep in a field", edited { $0["head"] = RawJSON(#"{"job":{"a":{"b":{"c":1}}}}"#) }, "deeper than 4 levels"),
        ("another version", edited { $0["v"] = RawJSON("2") }, "v must be 1"),
        ("no id", edited { $0["id"] = nil }, "id must be a string"),
        ("empty id", edited { $0["id"] = RawJSON(#""""#) }, "id is empty"),
        ("long id", edited { $0["id"] = RawJSON("\"" + String(repeating: "a", count: 300) + "\"") }, "id is longer than 256"),
        ("bad type", edited { $0["type"] = RawJSON(#""Batch Succeeded""#) }, "type is not a canonical"),
        ("body not base64", edited { $0["body"] = RawJSON(#""!!""#) }, "body must be base64"),
        ("unknown verified_by", edited { $0["verified_by"] = RawJSON(#""magic""#) }, "verified_by"),
        ("a finished state", edited { $0["state"] = RawJSON(#""done""#) }, "state must be"),
        ("running", edited { $0["state"] = RawJSON(#""running""#) }, "state must be"),
        ("huge attempts", edited { $0["attempt"] = RawJSON("1e999") }, "attempt must be a whole number"),
        ("fractional attempts", edited { $0["attempt"] = RawJSON("2.5") }, "attempt must be a whole number"),
        ("negative attempts", edited { $0["attempt"] = RawJSON("-1") }, "attempt must be a whole number"),
        ("too many attempts", edited { $0["attempt"] = RawJSON("99999999999999999999") }, "attempt must be a whole number"),
        ("base above attempts", edited { $0["attempt_base"] = RawJSON("3") }, "attempt_base must be a whole number 0 … 2"),
        ("no attempts", edited { $0["attempt"] = nil }, "attempt must be"),
        ("infinite next_at", edited { $0["next_at"] = RawJSON("1e999") }, "next_at must be seconds"),
        ("negative next_at", edited { $0["next_at"] = RawJSON("-5") }, "next_at must be seconds"),
        ("next_at a string", edited { $0["next_at"] = RawJSON(#""soon""#) }, "next_at must be seconds"),
        ("no received_at", edited { $0["received_at"] = nil }, "received_at is missing"),
        ("no from", edited { $0["from"] = nil }, "from must be an object"),
        ("no head", edited { $0["head"] = nil }, "head must be an object"),
        ("a bad chain", edited { $0["head"] = RawJSON(#"{"chain":{"parent":"a","root":"b","depth":-1}}"#) }, "depth must be"),
        ("history not an array", edited { $0["history"] = RawJSON("{}") }, "history must be an array"),
        ("history not base64", edited { $0["history"] = RawJSON(#"["%%"]"#) }, "history[0] is not a state record"),
        ("history of another delivery", edited {
            var w = JSONWriter(); w.beginObject(); StateChange(id: "other", state: .dead, attempt: 1, at: 5).write(into: &w); w.endObject()
            $0["history"] = RawJSON("[\"" + Base64.encode(w.bytes, urlSafe: true) + "\"]")
        }, "history[0] is about another delivery"),
        ("history with an infinite time", edited {
            $0["history"] = RawJSON("[\"" + Base64.encode(Array(#"{"k":"s","id":"wh_1","st":"dead","a":1,"t":1e999}"#.utf8), urlSafe: true) + "\"]")
        }, "history[0] has an attempt or a time out of range"),
        ("history that is not an attempt's end", edited {
            var w = JSONWriter(); w.beginObject(); StateChange(id: "wh_1", state: .running, attempt: 1, at: 5).write(into: &w); w.endObject()
            $0["history"] = RawJSON("[\"" + Base64.encode(w.bytes, urlSafe: true) + "\"]")
        }, "does not record the end of an attempt"),
    ]

    @Test(arguments: malformed)
    func malformedEnvelopesAreRefusedNamingWhat(_ name: String, _ body: [UInt8], _ expected: String) {
        #expect(throws: HandoverEnvelopeError.self, "\(name)") { try HandoverEnvelope.decode(body) }
        do { _ = try HandoverEnvelope.decode(body) } catch {
            #expect(error.message.contains(expected), "\(name): \(error.message)")
        }
    }
}
