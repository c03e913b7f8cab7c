import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// `deliveries show` lists every attempt: the spool keeps the records of how attempts ended
/// (bounded), through replays, compaction and restarts.
@Suite struct AttemptHistoryTests {
    @Test func everyAttemptSurvivesReplayCompactionAndRestart() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "x") == .accepted)
        for _ in 0..<2 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 10, nextAt: 0, error: "exit 1", exitCode: 1, durationMs: 5))
        }
        let j3 = try #require(take(s))
        s.finish(StateChange(id: j3.id, state: .dead, attempt: j3.attempt, at: 20, error: "no attempts left", exitCode: 1))
        #expect(s.replay("x"))  // a replay record is not an attempt
        let j4 = try #require(take(s))
        // Now, not at 30: a done delivery older than the retention is pruned on the restart below.
        s.finish(StateChange(id: j4.id, state: .done, attempt: j4.attempt, at: SystemClock().now(), exitCode: 0))
        #expect(s.attempts("x").map(\.attempt) == [1, 2, 3, 4])
        s.compact()
        #expect(s.attempts("x").map(\.state) == [.retryScheduled, .retryScheduled, .dead, .done])
        s.stopTaking(); s.stopWriter()
        let r = try openSpool(dir)
        #expect(r.attempts("x").map(\.attempt) == [1, 2, 3, 4])
        #expect(r.attempts("x")[2].error == "no attempts left")
    }

    @Test func historyIsBounded() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "y") == .accepted)
        for _ in 0..<30 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 0, nextAt: 0))
        }
        #expect(s.attempts("y").map(\.attempt) == Array(11...30))
        let m = MemoryDeliveryStore()
        #expect(admitSync(m, "y") == .accepted)
        for _ in 0..<30 {
            let j = try #require(take(m))
            m.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 0, nextAt: 0))
        }
        #expect(m.attempts("y").map(\.attempt) == Array(11...30))
    }

    @Test func typeFilterMatchesTheFamily() {
        #expect(DeliveryIndex.type("batch.succeeded", matches: "batch"))
        #expect(DeliveryIndex.type("batch", matches: "batch"))
        #expect(!DeliveryIndex.type("batches.x", matches: "batch"))
        #expect(!DeliveryIndex.type("batch", matches: "batch.succeeded"))
    }
}
