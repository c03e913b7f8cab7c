import Dispatch
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookVerify
@testable import HookSpool
@testable import HookDispatch

/// The spool's job index: a synthesized (reconcile) event and a real delivery of one job
/// completion recognise each other, by job and type, through restarts and compaction.
@Suite struct JobIndexTests {
    func admit(_ s: any DeliveryStore, _ id: String, type: String = "batch.succeeded", job: String, by: VerifiedBy) -> AdmitResult {
        let sem = DispatchSemaphore(value: 0)
        let box = Mutex<AdmitResult?>(nil)
        let body = bytes(#"{"type":"\#(type)","data":{"id":"\#(job)"}}"#)
        s.admit(id: id, type: type, verifiedBy: by, body: body) { r in box.withLock { $0 = r }; sem.signal() }
        sem.wait()
        return box.withLock { $0! }
    }

    @Test func keysTakeOnlyJobCompletionsAndMatchOnTheLastSegment() {
        #expect(JobKey(type: "batch.succeeded", job: "batches/abc") == JobKey(type: "batch.succeeded", job: "abc"))
        #expect(JobKey(type: "batch.completed", job: "abc") == JobKey(type: "batch.succeeded", job: "abc"))
        #expect(JobKey(type: "batch.failed", job: "abc") != JobKey(type: "batch.succeeded", job: "abc"))
        #expect(JobKey(type: "ping", job: "abc") == nil)
        #expect(JobKey(type: "batch", job: "abc") == nil)
        #expect(JobKey(type: "batch.succeeded", job: nil) == nil)
        #expect(JobKey(type: "batch.succeeded", job: "batches/") == nil)
        // Compared by bytes: é and e + U+0301 are two jobs.
        #expect(JobKey(type: "video.generated", job: "\u{e9}") != JobKey(type: "video.generated", job: "e\u{301}"))
        #expect(JobKey(type: "video.generated", job: "x")!.digest == JobKey(type: "video.generated", job: "x")!.digest)
    }

    @Test func onlyReconcileAgainstRealIsDeduplicatedByJob() {
        var index = JobIndex()
        let k = JobKey(type: "batch.succeeded", job: "batches/a")!
        #expect(!index.knows(k))
        index.note(k, id: "wh_1", reconcile: false, at: 10)
        #expect(index.knows(k))            // a synthesized event for it adds nothing
        #expect(index.recoveredBy(k) == nil)  // a second real one is not a duplicate by job
        let other = JobKey(type: "batch.succeeded", job: "b")!
        index.note(other, id: "reconcile_b", reconcile: true, at: 20)
        #expect(index.recoveredBy(other)?.id == "reconcile_b")
        #expect(index.prune(before: 15) == 1)
        #expect(!index.knows(k) && index.knows(other))
    }

    @Test func aStoreAnswersBothDirectionsAndKeepsThemAcrossRestartAndCompaction() throws {
        let dir = makeTempDir("jobs")
        defer { FileSystem.removeTree(dir) }
        let clock = ManualClock(1000)
        let configure: (inout SpoolConfig) -> Void = { $0.retention = 10; $0.dedupTTL = 1000 }
        let s = try openSpool(dir, clock: clock, configure: configure)
        #expect(admit(s, "wh_1", job: "batches/real", by: .hmac) == .accepted)
        #expect(admit(s, "reconcile_real", job: "real", by: .reconcile) == .duplicate)  // a real one came first
        #expect(admit(s, "reconcile_lost", job: "batches/lost", by: .reconcile) == .accepted)
        #expect(admit(s, "wh_2", job: "batches/lost", by: .jwt) == .duplicate)  // recovered already
        #expect(s.jobDuplicate(type: "batch.succeeded", job: "lost", verifiedBy: .hmac) == "reconcile_lost")
        #expect(admit(s, "wh_3", job: "batches/real", by: .hmac) == .accepted)  // real vs real: by id only
        #expect(admit(s, "wh_4", type: "batch.failed", job: "batches/lost", by: .hmac) == .accepted)  // another type
        #expect(admit(s, "child~e1", job: "batches/x", by: .parent) == .accepted)  // emitted: not a job delivery
        #expect(admit(s, "reconcile_x", job: "batches/x", by: .reconcile) == .accepted)
        for _ in 0..<5 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .done, attempt: j.attempt, at: clock.now()))
        }
        s.stopTaking(); s.stopWriter()

        // Past retention: the deliveries are pruned, the ids and the job index stay; compaction
        // rewrites the log without the delivery records.
        clock.advance(100)
        let r = try openSpool(dir, clock: clock, configure: configure)
        #expect(r.list(state: .done).isEmpty)
        r.compact()
        r.stopTaking(); r.stopWriter()
        let q = try openSpool(dir, clock: clock, configure: configure)
        #expect(q.jobDuplicate(type: "batch.succeeded", job: "batches/lost", verifiedBy: .hmac) == "reconcile_lost")
        #expect(admit(q, "wh_5", job: "lost", by: .hmac) == .duplicate)
        #expect(admit(q, "reconcile_real2", job: "real", by: .reconcile) == .duplicate)
        #expect(admit(q, "reconcile_new", job: "new", by: .reconcile) == .accepted)
        q.stopTaking(); q.stopWriter()

        // Past the dedup TTL: forgotten, like the ids.
        clock.advance(2000)
        let p = try openSpool(dir, clock: clock, configure: configure)
        #expect(p.jobDuplicate(type: "batch.succeeded", job: "lost", verifiedBy: .hmac) == nil)
        p.stopTaking(); p.stopWriter()
    }

    @Test func aJobRecordRoundTrips() {
        let k = JobKey(type: "interaction.requires_action", job: "int1")!
        for mark in [JobMark(digest: 0xdead_beef_0000_0001, at: 12.5), JobMark(digest: k.digest, at: 1, recovered: (k, "reconcile_int1"))] {
            let frame = SpoolRecord.job(mark).encoded()
            let payload = Array(frame[SpoolRecord.headerSize...])
            #expect(SpoolRecord.decode(payload: payload[...]) == .job(mark))
        }
    }
}

extension JobIndexTests {
    /// Past the dedup TTL a completion is forgotten only with its delivery: a synthesized event
    /// still waiting (its function paused for days) or a real delivery still unfinished keeps its
    /// id remembered, and its job must stay known too, or the other kind of the same completion
    /// is admitted and both run. A finished one past retention and TTL goes, id and job.
    @Test func aJobStaysKnownAsLongAsItsDeliveryIsKeptPastTheDedupTTL() {
        var index = DeliveryIndex()
        func accept(_ id: String, _ job: String, by: VerifiedBy, at offset: Int64) {
            index.accept(id: id, type: "batch.succeeded", at: 1000, verifiedBy: by, head: DeliveryHead(job: "batches/" + job),
                         body: SpoolRef(offset: offset, length: 1))
        }
        accept("reconcile_a", "a", by: .reconcile, at: 0)
        accept("wh_b", "b", by: .hmac, at: 1)
        accept("wh_c", "c", by: .jwt, at: 2)
        var done = StateChange(id: "wh_c", state: .done, attempt: 1, at: 1001, error: nil)
        _ = index.apply(&done)
        index.prune(now: 2000, retention: 100, dedupTTL: 100)
        #expect(index.remembers("reconcile_a") && index.remembers("wh_b") && !index.remembers("wh_c"))
        #expect(index.jobDuplicate(type: "batch.succeeded", job: "a", verifiedBy: .hmac) == "reconcile_a")
        #expect(index.jobDuplicate(type: "batch.succeeded", job: "b", verifiedBy: .reconcile) == "")
        #expect(index.jobDuplicate(type: "batch.succeeded", job: "c", verifiedBy: .reconcile) == nil)
        // The board's own pass (one shard per lock hold) keeps them the same way.
        let clock = ManualClock(1000)
        let board = DeliveryBoard(clock: clock)
        board.accepted(id: "reconcile_d", type: "batch.succeeded", at: 1000, verifiedBy: .reconcile, head: DeliveryHead(job: "d"),
                       body: SpoolRef(offset: 0, length: 1))
        clock.advance(1000)
        _ = board.prune(retention: 100, dedupTTL: 100)
        #expect(board.jobDuplicate(type: "batch.succeeded", job: "d", verifiedBy: .hmac) == "reconcile_d")
    }
}
