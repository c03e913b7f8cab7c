import Dispatch
import Synchronization
import Testing
@testable import HookSupport
@testable import HookVerify
@testable import HookSpool
@testable import HookDispatch

/// The spool's side of a hand-over: the envelope a leaving replica reads out, the peer's adoption
/// (history kept, due as before, durable and deduplicated), the leaver's `handed_over` mark.
@Suite struct SpoolHandoverTests {
    static let origin = HandoverEnvelope.Origin(name: "pod-0", address: "127.0.0.1:1")

    func adoptSync(_ spool: Spool, _ e: HandoverEnvelope) -> AdmitResult {
        let sem = DispatchSemaphore(value: 0)
        let box = Mutex<AdmitResult?>(nil)
        spool.adopt(e) { r in box.withLock { $0 = r }; sem.signal() }
        sem.wait()
        return box.withLock { $0! }
    }

    @Test func aRetryWaitingAfterExit75MovesWithItsHistoryAndStaysDueWhenItWas() throws {
        let clock = ManualClock(1_800_000_000)
        let a = makeTempDir("leaver"), b = makeTempDir("peer")
        defer { FileSystem.removeTree(a); FileSystem.removeTree(b) }
        let leaver = try openSpool(a, clock: clock)
        #expect(admitSync(leaver, "wh_1", body: #"{"type":"batch.succeeded","data":{"id":"batches/1"}}"#) == .accepted)
        let job = try #require(take(leaver))
        var later = StateChange(id: "wh_1", state: .retryScheduled, attempt: job.attempt, at: clock.now(), nextAt: clock.now() + 600,
                                error: "exited with status 75", function: "batch.succeeded", exitCode: 75)
        later.retryLaterSince = clock.now()
        #expect(leaver.finish(later))

        let e = try #require(leaver.handoverEnvelope("wh_1", from: Self.origin))
        #expect(e.attempt == 1 && e.state == .retryScheduled && e.nextAt == clock.now() + 600 && e.history.count == 1)
        #expect(e.head.job == "batches/1")

        let peer = try openSpool(b, clock: clock)
        #expect(adoptSync(peer, try HandoverEnvelope.decode(e.encoded())) == .accepted)
        #expect(adoptSync(peer, e) == .duplicate)
        func check(_ s: Spool) throws {
            let d = try #require(s.info("wh_1"))
            #expect(d.state == .retryScheduled && d.attempt == 1 && d.nextAt == clock.now() + 600 && d.retryLaterSince == clock.now())
            #expect(d.verifiedBy == .hmac && d.receivedAt == e.receivedAt && d.result == nil)
            let history = s.attempts("wh_1")
            #expect(history.map(\.error) == ["exited with status 75", "handed over from pod-0 (127.0.0.1:1)"])
            #expect(s.show("wh_1")?.body == bytes(#"{"type":"batch.succeeded","data":{"id":"batches/1"}}"#))
        }
        // As stored, after a restart, and after compaction rewrote the log (the batch's frames moved one by one).
        try check(peer)
        peer.stopTaking(); peer.stopWriter()
        let restarted = try openSpool(b, clock: clock)
        try check(restarted)
        restarted.compact()
        restarted.stopTaking(); restarted.stopWriter()
        let compacted = try openSpool(b, clock: clock)
        try check(compacted)
        compacted.stopTaking(); compacted.stopWriter()

        #expect(leaver.markHandedOver("wh_1", note: "handed over to peer"))
        #expect(!leaver.markHandedOver("wh_1", note: "again"))
        #expect(leaver.info("wh_1")?.state == .handedOver && leaver.queueDepth == 0)
        #expect(leaver.handoverEnvelope("wh_1", from: Self.origin) == nil)
        #expect(!leaver.replay("wh_1"), "the peer owns it: a replay here would run it twice")
        leaver.stopTaking(); leaver.stopWriter()
        let again = try openSpool(a, clock: clock)
        clock.advance(3_600)
        #expect(again.info("wh_1")?.state == .handedOver)
        #expect(again.queueDepth == 0)
    }

    @Test func aNewDeliveryArrivesDueNowAndARunningOneIsNotHandedOver() throws {
        let clock = ManualClock(1_800_000_000)
        let a = makeTempDir("leaver"), b = makeTempDir("peer")
        defer { FileSystem.removeTree(a); FileSystem.removeTree(b) }
        let leaver = try openSpool(a, clock: clock)
        #expect(admitSync(leaver, "new") == .accepted)
        #expect(admitSync(leaver, "busy") == .accepted)
        _ = leaver.start("busy")
        #expect(leaver.handoverEnvelope("busy", from: Self.origin) == nil)
        #expect(!leaver.markHandedOver("busy", note: "x"))
        let e = try #require(leaver.handoverEnvelope("new", from: Self.origin))
        let peer = try openSpool(b, clock: clock)
        #expect(adoptSync(peer, e) == .accepted)
        let due = try #require(peer.nextDue())
        #expect(due.id == "new" && due.attempt == 0)
        let job = try #require(peer.start("new"))
        #expect(job.info.attempt == 1)
    }
}
