import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct EmitFileTests {
    static let parentHead = DeliveryHead(userMetadata: bytes(#"{"g":"n"}"#), job: "batches/1")

    static func parse(_ text: String, head: DeliveryHead = parentHead, limits: EmitLimits = EmitLimits()) throws(EmitError) -> [ChildDelivery] {
        try EmitFile.parse(bytes(text), parentID: "p", parentHead: head, limits: limits)
    }

    @Test func linesBecomeChildrenWithIdsByLineAndTheParentsMetadata() throws {
        let c = try Self.parse("{\"type\":\"app.a\",\"data\":{\"x\": 1}}\r\n\n  \n{\"type\":\"app.b\",\"user_metadata\":{\"g\":\"o\"}}\n")
        #expect(c.map(\.id) == ["p~e1", "p~e4"])
        #expect(String(decoding: c[0].body, as: UTF8.self) == #"{"type":"app.a","data":{"x": 1},"user_metadata":{"g":"n"}}"#)
        #expect(String(decoding: c[1].body, as: UTF8.self) == #"{"type":"app.b","data":{},"user_metadata":{"g":"o"}}"#)
        #expect(c[0].head.chain == DeliveryHead.Chain(parent: "p", root: "p", depth: 1))
        #expect(c[0].head.userMetadata == bytes(#"{"g":"n"}"#) && c[0].head.job == nil)
        let grandchildren = try EmitFile.parse(bytes(#"{"type":"app.c"}"#), parentID: "p~e1", parentHead: c[0].head, limits: EmitLimits())
        #expect(grandchildren[0].head.chain == DeliveryHead.Chain(parent: "p~e1", root: "p", depth: 2))
        #expect(grandchildren[0].id == "p~e1~e1")
        #expect(try Self.parse("").isEmpty)
    }

    @Test func refusesWhatIsNotAnEventNamingTheLine() {
        let cases: [(String, String)] = [
            ("{\"type\":\"video.generated\"}", "line 1: type video.generated is in the video family"),
            // the families in any case: a case-insensitive functions directory finds batch.succeeded
            ("{\"type\":\"Batch.succeeded\"}", "line 1: type Batch.succeeded is in the batch family"),
            ("{\"type\":\"INTERACTION.requires_action\"}", "line 1: type INTERACTION.requires_action is in the interaction family"),
            ("{\"type\":\"HookHost\"}", "line 1: type HookHost is in the hookhost family"),
            ("{}\n", "line 1: no \"type\""),
            ("{\"type\":1}", "line 1: \"type\" must be a string"),
            ("{\"type\":\"batch.completed\"}", "line 1: type is not a plain dotted name"),  // not canonical
            ("{\"type\":\"a\",\"user_metadata\":[]}", "line 1: \"user_metadata\" must be an object or null"),
            ("\n\n{\"type\":\"a\"", "line 3: not JSON"),
            (String(repeating: "[", count: 10_000), "line 1: not JSON"),
        ]
        for (text, why) in cases {
            #expect(throws: EmitError.self) { try Self.parse(text) }
            do { _ = try Self.parse(text) } catch { #expect(error.description.contains(why), "\(error) vs \(why)") }
        }
    }

    @Test func limitsCountDepthAndSize() {
        var l = EmitLimits()
        l.maxEvents = 2
        #expect(throws: EmitError(line: 3, message: "more than 2 events (HOOKHOST_MAX_EMIT)")) {
            try Self.parse("{\"type\":\"a\"}\n{\"type\":\"a\"}\n{\"type\":\"a\"}", limits: l)
        }
        let deep = DeliveryHead(chain: .init(parent: "q", root: "r", depth: 8))
        #expect(throws: EmitError(line: 1, message: "the chain would be 9 deep; HOOKHOST_MAX_DEPTH is 8")) {
            try Self.parse("{\"type\":\"a\"}", head: deep)
        }
        l = EmitLimits()
        l.maxEventBytes = 40
        #expect(throws: EmitError.self) { try Self.parse("{\"type\":\"a\",\"data\":{\"k\":\"\(String(repeating: "x", count: 50))\"}}", limits: l) }
    }

    /// A key twice is read one way by the host and another by the function (most JSON readers
    /// keep the last, routes the first): refused, naming it, not silently picked.
    @Test func aKeyTwiceIsRefusedAtTheTopAndInUserMetadata() {
        let cases: [(String, String)] = [
            (#"{"type":"app.a","type":"app.b"}"#, #"line 1: key "type" appears twice"#),
            (#"{"type":"app.a","data":{},"data":{"x":1}}"#, #"line 1: key "data" appears twice"#),
            (#"{"type":"app.a","user_metadata":{"g":"a","g":"b"}}"#, #"line 1: user_metadata holds the key "g" twice"#),
            (#"{"type":"app.a","user_metadata":{"t":{"r":"eu","r":"us"}}}"#, #"line 1: user_metadata holds the key "r" twice"#),
            // one key as routes compare keys: the same text, composed or not
            ("{\"type\":\"app.a\",\"user_metadata\":{\"caf\u{e9}\":1,\"cafe\u{301}\":2}}", "line 1: user_metadata holds the key"),
        ]
        for (text, why) in cases {
            do { _ = try Self.parse(text); Issue.record("accepted: \(text)") } catch { #expect(error.description.contains(why), "\(error) vs \(why)") }
        }
        // the same key in different objects is no repetition; nor is one in data (the function's alone)
        #expect((try? Self.parse(#"{"type":"app.a","data":{"k":1,"k":2},"user_metadata":{"g":{"g":1},"h":[{"g":1},{"g":2}]}}"#))?.count == 1)
    }

    /// A line longer than an event may be is refused before it is parsed: 32 MiB of `1,` in one
    /// line made a tree of about a gigabyte first.
    @Test func aLineLongerThanAnEventIsRefusedUnparsed() {
        var l = EmitLimits()
        l.maxEventBytes = 1000
        let long = "{\"type\":\"app.a\",\"data\":{\"a\":[" + String(repeating: "1,", count: 600) + "1]}}"
        #expect(throws: EmitError(line: 2, message: "the line is \(long.utf8.count) bytes; an event may have at most 1000 (HOOKHOST_MAX_BODY)")) {
            try Self.parse("{\"type\":\"app.a\"}\n" + long, limits: l)
        }
        // named for its length even when it is not JSON at all: it was never parsed
        #expect(throws: EmitError(line: 1, message: "the line is 1001 bytes; an event may have at most 1000 (HOOKHOST_MAX_BODY)")) {
            try Self.parse(String(repeating: "[", count: 1001), limits: l)
        }
    }

    /// Every child carries its user_metadata (inherited ones too) in its body: 10 000 children
    /// of a parent with a few KiB of it made a record larger than a frame may be, which
    /// was written, run, and at the next start read as damage (every child lost, the parent run
    /// again). Refused at the line that goes past the budget; what is accepted fits one frame.
    @Test func eventsThatWouldNotFitOneSpoolRecordAreRefused() throws {
        let meta = "{\"blob\":\"" + String(repeating: "x", count: 30_000) + "\"}"
        let head = DeliveryHead(userMetadata: bytes(meta))
        let lines = Array(repeating: #"{"type":"app.a"}"#, count: 10_000)
        var failedAt: Int?
        do { _ = try Self.parse(lines.joined(separator: "\n"), head: head) } catch {
            failedAt = error.line
            #expect(error.message.contains("MiB in the spool"), "\(error)")
        }
        let last = try #require(failedAt)
        #expect(last > 100 && last < 10_000)
        // All lines before it are accepted, and with the parent's largest outcome they fit one frame.
        let children = try Self.parse(lines.prefix(last - 1).joined(separator: "\n"), head: head)
        var done = StateChange(id: "p", state: .done, attempt: 1, at: 1_800_000_000.123456)
        done.output = bytes("{\"o\":\"" + String(repeating: "y", count: (1 << 20) - 16) + "\"}")
        done.stderrTail = String(repeating: "e", count: 8 << 10)
        let records = children.map { c in
            SpoolRecord.delivery(id: c.id, type: c.type, receivedAt: 1_800_000_000.123456, verifiedBy: .parent, body: c.body, head: c.head)
        } + [.state(done)]
        let frame = SpoolRecord.batch(of: records).encoded()
        #expect(frame.count - SpoolRecord.headerSize <= SpoolRecord.maxPayload)
        #expect(SpoolScanner.scan(frame).records.count == 1)  // read back whole, not taken for damage
    }

    @Test func childIDsAreRecognised() {
        #expect(EmitFile.isChildID("p~e1") && EmitFile.isChildID("a~e1~e22"))
        #expect(!EmitFile.isChildID("p~e") && !EmitFile.isChildID("p~x1") && !EmitFile.isChildID("p") && !EmitFile.isChildID("p~e1a"))
    }

    /// The batch record that commits a parent's done with its children: all or nothing.
    @Test func aBatchRecordIsAllOrNothing() {
        let children = (1...3).map { i in
            SpoolRecord.delivery(id: "p~e\(i)", type: "app.a", receivedAt: 5, verifiedBy: .parent, body: bytes("{}"),
                                 head: DeliveryHead(chain: .init(parent: "p", root: "p", depth: 1)))
        }
        let batch = SpoolRecord.batch(of: children + [.state(StateChange(id: "p", state: .done, attempt: 1, at: 5))])
        let frame = batch.encoded()
        #expect(SpoolScanner.scan(frame).records.map(\.record) == [batch])
        // Each inner record is a frame of its own at the offset the batch names.
        guard case .batch(let inner) = batch else { Issue.record("not a batch"); return }
        for n in inner {
            let nested = Array(frame[n.offset..<(n.offset + n.length)])
            #expect(SpoolScanner.frame(at: 0, in: nested, nested: true)?.1 == n.record)
            #expect(SpoolScanner.scan(nested).records.isEmpty)  // never found by scanning
            #expect(SpoolScanner.scan(SpoolRecord.standalone(nested)).records.map(\.record) == [n.record])  // as compaction copies it
        }
        // Torn anywhere: nothing of it is read back.
        for cut in [20, frame.count / 2, frame.count - 1] {
            #expect(SpoolScanner.scan(Array(frame.prefix(cut))).records.isEmpty)
        }
        // Loaded into an index, children get refs into the batch's frame.
        var ix = DeliveryIndex()
        ix.load(.delivery(id: "p", type: "ping", receivedAt: 1, verifiedBy: .hmac, body: []), at: SpoolRef(offset: 0, length: 10))
        ix.load(batch, at: SpoolRef(offset: 100, length: frame.count))
        #expect(ix["p~e2"]?.body == SpoolRef(offset: 100 + Int64(inner[1].offset), length: inner[1].length))
        #expect(ix["p~e2"]?.head?.chain?.parent == "p" && ix["p"]?.state == .done)
    }

    /// Children committed with their parent survive compaction (their records move out of the
    /// batch) and a restart, bodies and chains intact; a second commit of the same ids adds nothing.
    @Test func committedChildrenSurviveCompactionAndRestart() throws {
        let dir = makeTempDir("emit-compact")
        defer { FileSystem.removeTree(dir) }
        var s = try openSpool(dir)
        #expect(admitSync(s, "p", type: "ping", body: #"{"type":"ping","data":{"user_metadata":{"g":1}}}"#) == .accepted)
        let job = try #require(take(s))
        let children = try EmitFile.parse(bytes("{\"type\":\"app.a\",\"data\":{\"i\":1}}\n{\"type\":\"app.b\"}"), parentID: "p",
                                          parentHead: job.head, limits: EmitLimits())
        let now = SystemClock().now()  // not past retention at the restart
        #expect(s.finish(StateChange(id: "p", state: .done, attempt: job.attempt, at: now), .durable, emitting: children))
        #expect(s.finish(StateChange(id: "p", state: .done, attempt: job.attempt, at: now), .durable, emitting: children))  // dedup
        #expect(s.list().filter { $0.id.hasPrefix("p~") }.count == 2)
        s.compact()
        s.stopTaking(); s.stopWriter()
        s = try openSpool(dir)
        defer { s.stopTaking(); s.stopWriter() }
        #expect(s.info("p")?.state == .done)
        let c1 = try #require(s.show("p~e1"))
        #expect(String(decoding: c1.body, as: UTF8.self) == #"{"type":"app.a","data":{"i":1},"user_metadata":{"g":1}}"#)
        #expect(c1.info.verifiedBy == .parent && c1.info.head?.chain == DeliveryHead.Chain(parent: "p", root: "p", depth: 1))
        #expect(s.info("p~e2")?.state == .received)
        let started = try #require(take(s))
        #expect(started.id == "p~e1" && started.head.userMetadata == bytes(#"{"g":1}"#))
    }
}
