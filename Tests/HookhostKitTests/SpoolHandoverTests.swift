import Dispatch
import Glibc
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

    /// A rolling restart hands over both ways: A gives X to B, then B drains towards A. A holds X
    /// only as `handed_over`: it takes X back (not "duplicate", which would leave X handed over on
    /// both and run nowhere), again and again, with nothing growing and the latest record winning
    /// through restarts and compaction.
    @Test func aDeliveryHandedBackAndForthIsTakenBackEachTimeAndRunsOnce() throws {
        let clock = ManualClock(1_800_000_000)
        let dirs = [makeTempDir("a"), makeTempDir("b")]
        defer { dirs.forEach(FileSystem.removeTree) }
        let origins = [HandoverEnvelope.Origin(name: "pod-a", address: "127.0.0.1:1"), HandoverEnvelope.Origin(name: "pod-b", address: "127.0.0.1:2")]
        var spools = [try openSpool(dirs[0], clock: clock), try openSpool(dirs[1], clock: clock)]
        let body = #"{"type":"batch.succeeded","pad":""# + String(repeating: "x", count: 64 << 10) + #""}"#
        #expect(admitSync(spools[0], "x", body: body) == .accepted)
        let first = try #require(take(spools[0]))
        #expect(spools[0].finish(StateChange(id: "x", state: .retryScheduled, attempt: first.attempt, at: clock.now(), nextAt: clock.now(),
                                             error: "exited with status 1", function: "batch.succeeded", exitCode: 1)))
        let turns = 25  // more than the 20 attempts a history keeps
        for turn in 0..<turns {
            let (from, to) = (turn % 2, (turn + 1) % 2)
            clock.advance(1)
            let e = try #require(spools[from].handoverEnvelope("x", from: origins[from]))
            #expect(e.history.count <= 20)
            #expect(adoptSync(spools[to], try HandoverEnvelope.decode(e.encoded())) == .accepted, "turn \(turn)")
            #expect(adoptSync(spools[to], e) == .duplicate, "it is unfinished there now")
            #expect(spools[from].markHandedOver("x", note: "handed over to \(origins[to].name)"))
            #expect(spools[to].info("x")?.state == .retryScheduled && spools[to].queueDepth == 1 && spools[to].list().count == 1)
            let notes = spools[to].attempts("x").compactMap(\.error)
            #expect(notes.last == "\(turn == 0 ? "handed over" : "handed back") from \(origins[from].name) (\(origins[from].address))")
            #expect(notes.count == min(turn + 2, 20))
            // The leaver restarts (as in a rolling restart): X stays handed over there.
            spools[from].stopTaking(); spools[from].stopWriter()
            spools[from] = try openSpool(dirs[from], clock: clock)
            #expect(spools[from].info("x")?.state == .handedOver && spools[from].queueDepth == 0 && spools[from].list().count == 1)
        }
        let holder = turns % 2, other = 1 - holder
        func check(_ s: Spool) throws {
            let d = try #require(s.info("x"))
            #expect(d.state == .retryScheduled && d.attempt == 1 && s.queueDepth == 1 && s.list().count == 1)
            #expect(s.show("x")?.body == bytes(body))
            let history = s.attempts("x")
            #expect(history.count == 20 && history.last?.error == "handed back from \(origins[other].name) (\(origins[other].address))")
        }
        try check(spools[holder])
        spools[holder].stopTaking(); spools[holder].stopWriter()
        var reopened = try openSpool(dirs[holder], clock: clock)
        try check(reopened)
        // The log holds a copy of X for every time it came back; compaction keeps the latest only.
        reopened.compact()
        reopened.stopTaking(); reopened.stopWriter()
        var st = stat()
        #expect(stat(dirs[holder] + "/spool.log", &st) == 0)
        #expect(st.st_size > body.utf8.count && st.st_size < 2 * body.utf8.count, "\(st.st_size) bytes after compaction")
        reopened = try openSpool(dirs[holder], clock: clock)
        try check(reopened)
        let job = try #require(take(reopened))
        #expect(job.id == "x" && job.attempt == 2)
        #expect(reopened.finish(StateChange(id: "x", state: .done, attempt: job.attempt, at: clock.now(), function: "batch.succeeded", exitCode: 0)))
        // Done here: a hand-over of it (a stale copy) is a duplicate, as for any state but handed_over.
        let stale = HandoverEnvelope(id: "x", type: "batch.succeeded", body: bytes(body), receivedAt: clock.now(), verifiedBy: .hmac, from: origins[other])
        #expect(adoptSync(reopened, stale) == .duplicate)
        #expect(reopened.info("x")?.state == .done && reopened.queueDepth == 0)
        reopened.stopTaking(); reopened.stopWriter()
        spools[other].stopTaking(); spools[other].stopWriter()
    }
}
