import Testing
import Glibc
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct DeliveryHeadTests {
    static func head(_ type: String, _ body: String) throws -> DeliveryHead {
        let b = bytes(body)
        return DeliveryHead.derive(type: type, event: try JSONParser.parse(b), body: b)
    }

    @Test func readsMetadataJobAndResultOnce() throws {
        let h = try Self.head("batch.succeeded", #"{"type":"batch.completed","data":{"id":"batches/7","output_file_uri":"files/b7","user_metadata": {"g" : [1, "x"]}}}"#)
        #expect(h.userMetadata.map { String(decoding: $0, as: UTF8.self) } == #"{"g" : [1, "x"]}"#)  // bytes as sent
        #expect(h.job == "batches/7")
        #expect(h.result == "files/b7")
        #expect(h.chain == nil)
        // Top-level user_metadata when data has none; a null one is none.
        let top = try Self.head("interaction.completed", #"{"type":"interaction.completed","data":{"id":"i1","user_metadata":null},"user_metadata":{"a":1}}"#)
        #expect(top.userMetadata == bytes(#"{"a":1}"#))
        #expect(top.result == nil)
        let none = try Self.head("x.y", #"{"type":"x.y"}"#)
        #expect(none == DeliveryHead())
    }

    @Test func legacyTypeIsStoredCanonical() {
        let d = DeliveryHead.derive(body: bytes(#"{"type":"batch.completed","data":{"id":"b1"}}"#))
        #expect(d?.type == "batch.succeeded")
        #expect(d?.head.result == "batches/b1")
        #expect(DeliveryHead.derive(body: bytes("[1]")) == nil)
    }

    /// Every head shape survives the log, read by the fast decoder and the parser alike.
    @Test func headRoundTripsThroughBothDecoders() {
        let heads: [DeliveryHead] = [
            DeliveryHead(),
            DeliveryHead(userMetadata: bytes(#"{"k":"v\n\"q\"","deep":[[[{}]]]}"#), job: "batches/1", result: "files/x"),
            DeliveryHead(job: "j\"esc", chain: .init(parent: "p/1", root: "r", depth: 3)),
            DeliveryHead(userMetadata: bytes("{}"), chain: .init(parent: "p", root: "p", depth: 1)),
        ]
        for h in heads {
            let rec = SpoolRecord.delivery(id: "a", type: "t.x", receivedAt: 2.5, verifiedBy: .hmac, body: bytes("{}"), head: h)
            let (meta, body) = SpoolRecordTests.metaAndBody(rec)
            #expect(SpoolRecord.decodeParsed(meta: Array(meta), body: body, bodies: true) == rec)
            if let fast = SpoolRecord.decodeCommon(meta: meta, body: body, bodies: true) { #expect(fast == rec) }
            #expect(SpoolScanner.scan(rec.encoded()).records.map(\.record) == [rec])
        }
        // The common case (no escapes) takes the fast path.
        let plain = SpoolRecord.delivery(id: "a", type: "t", receivedAt: 1, verifiedBy: .hmac, body: [], head: heads[1])
        let (meta, body) = SpoolRecordTests.metaAndBody(plain)
        #expect(SpoolRecord.decodeCommon(meta: meta, body: body, bodies: false) != nil)
    }

    /// A spool written before heads existed: its unfinished delivery gets a head from its body at
    /// recovery, and its type as sent is read canonical.
    @Test func recordsWithoutHeadGetOneAtRecovery() throws {
        let dir = makeTempDir("head-old")
        defer { FileSystem.removeTree(dir) }
        let body = bytes(#"{"type":"batch.completed","data":{"id":"b9","user_metadata":{"job_group":"n"}}}"#)
        let old = SpoolRecord.delivery(id: "old", type: "batch.completed", receivedAt: 1, verifiedBy: .hmac, body: body).encoded()
        _ = FileSystem.makeDirectories(dir)
        let fd = open(dir + "/spool.log", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = old.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let s = try openSpool(dir)
        defer { s.stopTaking(); s.stopWriter() }
        let d = try #require(s.info("old"))
        #expect(d.type == "batch.succeeded")
        #expect(d.head?.userMetadata == bytes(#"{"job_group":"n"}"#))
        #expect(d.head?.result == "batches/b9")
        #expect(s.list(state: nil, type: "batch.completed").count == 1)  // the legacy name still filters
    }

    /// The user_metadata is stored once, where it lies in the body: copied into the head as
    /// base64 too, a 28 MiB one in a 32 MiB body (HOOKHOST_MAX_BODY allows it) made a record over
    /// the 64 MiB a frame holds — acknowledged, then read as damage at the next start and lost.
    @Test func userMetadataIsStoredOnceWhereItLiesInTheBody() throws {
        let um = "{\"blob\":\"" + String(repeating: "x", count: 200_000) + "\"}"
        let body = bytes(#"{"type":"batch.succeeded","data":{"id":"b","user_metadata":"# + um + "}}")
        let head = try #require(DeliveryHead.derive(body: body)).head
        #expect(head.userMetadata == bytes(um))
        let rec = SpoolRecord.delivery(id: "a", type: "batch.succeeded", receivedAt: 1, verifiedBy: .hmac, body: body, head: head)
        let frame = rec.encoded()
        #expect(frame.count < body.count + 512)
        // Both decoders, with bodies (show, runs) and without (recovery), read it back.
        let (meta, stored) = SpoolRecordTests.metaAndBody(rec)
        #expect(SpoolRecord.decodeParsed(meta: Array(meta), body: stored, bodies: true) == rec)
        #expect(SpoolRecord.decodeCommon(meta: meta, body: stored, bodies: true) == rec)
        let payload = frame[SpoolRecord.headerSize...]
        guard case .delivery(_, _, _, _, let none, _, let h)? = SpoolRecord.decode(payload: payload, bodies: false) else {
            Issue.record("not decoded"); return
        }
        #expect(none.isEmpty && h == head)
        // Through a restart of the spool itself.
        let dir = makeTempDir("head-once")
        defer { FileSystem.removeTree(dir) }
        var s = try openSpool(dir)
        #expect(admitSync(s, "big", type: "batch.succeeded", body: String(decoding: body, as: UTF8.self)) == .accepted)
        s.stopTaking(); s.stopWriter()
        s = try openSpool(dir)
        defer { s.stopTaking(); s.stopWriter() }
        #expect(try #require(take(s)).head.userMetadata == bytes(um))
    }

    /// A finished delivery is kept compact without its head; replaying it reads the head back.
    @Test func aReplayedCompactDeliveryGetsItsHeadBack() throws {
        let dir = makeTempDir("head-replay")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        defer { s.stopTaking(); s.stopWriter() }
        #expect(admitSync(s, "r1", type: "batch.succeeded", body: #"{"type":"batch.succeeded","data":{"user_metadata":{"g":1}}}"#) == .accepted)
        let job = try #require(take(s))
        #expect(job.head.userMetadata == bytes(#"{"g":1}"#))
        s.finish(StateChange(id: "r1", state: .done, attempt: job.attempt, at: 5))
        #expect(s.info("r1")?.head == nil)  // compact
        #expect(s.replay("r1"))
        #expect(s.info("r1")?.head?.userMetadata == bytes(#"{"g":1}"#))
    }
}
