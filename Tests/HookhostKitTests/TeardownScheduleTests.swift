import Glibc
import Testing
@testable import HookDispatch
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookhostKit

@Suite struct TeardownScheduleTests {
    typealias Action = TeardownSchedule.Action

    /// What the supervisor does at `now`: every signal due, then how it waits (or that it stops).
    func actions(_ s: inout TeardownSchedule, at now: Double, outputOpen: Bool = true) -> [Action] {
        var out: [Action] = []
        for _ in 0..<100 {
            let a = s.next(now: now, outputOpen: outputOpen)
            out.append(a)
            if case .signalGroup = a { continue }
            break
        }
        return out
    }

    @Test func beforeTheDeadlineItWaitsForTheDeadline() {
        var s = TeardownSchedule(deadline: 10, steps: TeardownStep.standard)
        #expect(actions(&s, at: 0) == [.waitUntil(10)])
        #expect(actions(&s, at: 9.999) == [.waitUntil(10)])
        #expect(!s.timedOut)
    }

    @Test func atTheDeadlineTermThenGraceThenKill() {
        var s = TeardownSchedule(deadline: 10, steps: TeardownStep.standard)
        #expect(actions(&s, at: 10) == [.signalGroup(SIGTERM), .waitUntil(12)])
        #expect(s.timedOut)
        #expect(actions(&s, at: 11) == [.waitUntil(12)])
        #expect(actions(&s, at: 12) == [.signalGroup(SIGKILL), .waitForExit])
        // Nothing is left to send: it waits for the leader however long that takes.
        #expect(actions(&s, at: 100) == [.waitForExit])
    }

    @Test func aWaitCountsFromWhenTheTeardownReachedIt() {
        // The supervisor woke late: the grace is still whole.
        var s = TeardownSchedule(deadline: 10, steps: TeardownStep.shutdown(grace: 5))
        #expect(actions(&s, at: 13) == [.signalGroup(SIGTERM), .waitUntil(18)])
        #expect(actions(&s, at: 20) == [.signalGroup(SIGKILL), .waitForExit])
    }

    @Test func signalsWithoutAWaitBetweenThemGoAtOnce() {
        var s = TeardownSchedule(deadline: 1, steps: [.signal(SIGINT), .signal(SIGTERM), .wait(1), .signal(SIGKILL)])
        #expect(actions(&s, at: 1) == [.signalGroup(SIGINT), .signalGroup(SIGTERM), .waitUntil(2)])
        #expect(actions(&s, at: 2) == [.signalGroup(SIGKILL), .waitForExit])
    }

    @Test func noStepsOrATrailingWaitOnlyWaitForTheLeader() {
        var none = TeardownSchedule(deadline: 1, steps: [])
        #expect(actions(&none, at: 1) == [.waitForExit])
        #expect(none.timedOut)
        var trailing = TeardownSchedule(deadline: 1, steps: [.signal(SIGTERM), .wait(5)])
        #expect(actions(&trailing, at: 1) == [.signalGroup(SIGTERM), .waitForExit])
    }

    @Test func aLeaderThatExitsInTimeWithItsOutputReadEndsAtOnce() {
        var s = TeardownSchedule(deadline: 10, steps: TeardownStep.standard)
        #expect(actions(&s, at: 1) == [.waitUntil(10)])
        s.leaderExited(at: 2)
        #expect(actions(&s, at: 2, outputOpen: false) == [.finish])
        #expect(!s.timedOut)
    }

    @Test func afterTheExitOutputIsDrainedForAtMostTheGrace() {
        var s = TeardownSchedule(deadline: 10, steps: TeardownStep.standard, drainGrace: 0.5)
        s.leaderExited(at: 2)
        // A background child still holds the pipes: they are read until the grace is over.
        #expect(actions(&s, at: 2) == [.waitUntil(2.5)])
        #expect(actions(&s, at: 2.25) == [.waitUntil(2.5)])
        #expect(actions(&s, at: 2.25, outputOpen: false) == [.finish])
        var t = TeardownSchedule(deadline: 10, steps: TeardownStep.standard, drainGrace: 0.5)
        t.leaderExited(at: 2)
        #expect(actions(&t, at: 2.5) == [.finish])
        // The deadline passing while the output drains changes nothing: the leader is gone.
        var u = TeardownSchedule(deadline: 2.2, steps: TeardownStep.standard, drainGrace: 0.5)
        u.leaderExited(at: 2)
        #expect(actions(&u, at: 2.3) == [.waitUntil(2.5)])
        #expect(!u.timedOut)
    }

    @Test func anExitDuringTheGraceStopsTheStepsButTheRunStillTimedOut() {
        var s = TeardownSchedule(deadline: 10, steps: TeardownStep.standard)
        #expect(actions(&s, at: 10) == [.signalGroup(SIGTERM), .waitUntil(12)])
        s.leaderExited(at: 11)
        #expect(actions(&s, at: 11) == [.waitUntil(11.5)])
        #expect(actions(&s, at: 12) == [.finish])  // no SIGKILL step: the supervisor's final group kill covers the rest
        #expect(s.timedOut)
    }

    @Test func onlyTheFirstExitReportCounts() {
        var s = TeardownSchedule(deadline: 10, steps: [])
        s.leaderExited(at: 3)
        s.leaderExited(at: 5)
        #expect(s.exitedAt == 3)
        #expect(actions(&s, at: 3.6) == [.finish])
    }
}
