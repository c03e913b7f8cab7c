import Testing
import Synchronization
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// Reports every dead letter but the host's own events.
final class ReportEverything: DeadLetterWatch {
    func deadEvent(for d: DeliveryInfo, change: StateChange) -> ChildDelivery? {
        DeadLetterEvents.isHostEvent(d.type) ? nil : DeadLetterEvents.event(for: d, change: change, metadata: d.head?.userMetadata)
    }
}

@Suite struct DeadLetterEventsTests {
    @Test func theEventSaysWhatDiedAndWhy() throws {
        var d = DeliveryInfo(id: "a", type: "batch.succeeded", receivedAt: 1, verifiedBy: .hmac, updatedAt: 1, body: SpoolRef(offset: 0, length: 1))
        d.head = DeliveryHead(userMetadata: bytes(#"{"g":1}"#), chain: .init(parent: "p", root: "r", depth: 2))
        var change = StateChange(id: "a", state: .dead, attempt: 3, at: 1_700_000_000, error: "exited with status 1; no attempts left")
        change.function = "batch"
        let e = DeadLetterEvents.event(for: d, change: change, metadata: d.head?.userMetadata)
        #expect(e.id == "a~d3" && e.type == "hookhost.dead" && e.verifiedBy == .host)
        #expect(e.head.chain == DeliveryHead.Chain(parent: "a", root: "r", depth: 3))
        let doc = try JSONParser.parse(e.body)
        #expect(doc["data"]?["attempts"]?.intValue == 3 && doc["data"]?["function"]?.stringValue == "batch")
        #expect(doc["data"]?["reason"]?.stringValue == "exited with status 1; no attempts left")
        #expect(doc["user_metadata"]?["g"]?.intValue == 1 && doc["data"]?["user_metadata"]?["g"]?.intValue == 1)
        #expect(EmitFile.isChildID(e.id))
        #expect(DeadLetterEvents.isHostEvent("hookhost.dead") && DeadLetterEvents.isHostEvent("hookhost") && !DeadLetterEvents.isHostEvent("hookhosts.x"))
    }

    /// In the spool the event is committed with the dead state (one record), once; a dead
    /// `hookhost.dead` reports nothing.
    @Test func theSpoolCommitsTheEventWithTheDeath() throws {
        let dir = makeTempDir("dead-events")
        defer { FileSystem.removeTree(dir) }
        var s = try openSpool(dir)
        s.watchDeadLetters(ReportEverything())
        #expect(admitSync(s, "a", type: "ping", body: #"{"type":"ping"}"#) == .accepted)
        let job = try #require(take(s))
        s.finish(StateChange(id: "a", state: .dead, attempt: job.attempt, at: SystemClock().now(), error: "x"), .lazy)
        #expect(s.info("a~d1")?.state == .received && s.info("a~d1")?.verifiedBy == .host)
        let event = try #require(take(s))
        s.finish(StateChange(id: event.id, state: .dead, attempt: event.attempt, at: SystemClock().now(), error: "y"))
        #expect(s.info("a~d1~d1") == nil)
        s.stopTaking(); s.stopWriter()
        s = try openSpool(dir)
        defer { s.stopTaking(); s.stopWriter() }
        #expect(s.info("a")?.state == .dead && s.info("a~d1")?.state == .dead)
        #expect(s.list().count == 2)
    }
}
