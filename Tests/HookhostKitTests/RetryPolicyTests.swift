import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct RetryPolicyTests {
    @Test func retryPolicyBackoffAndBudget() {
        let p = RetryPolicy(base: 5, cap: 60, maxAttempts: 3)
        #expect(p.ceiling(afterAttempt: 1) == 5)
        #expect(p.ceiling(afterAttempt: 2) == 10)
        #expect(p.ceiling(afterAttempt: 4) == 40)
        #expect(p.ceiling(afterAttempt: 5) == 60)
        #expect(p.ceiling(afterAttempt: 500) == 60)
        #expect(p.delay(afterAttempt: 3, unit: 0.5) == 10)
        #expect(p.delay(afterAttempt: 3, unit: 0) == 0)
        let (s1, n1) = p.next(outcome: .retry, attemptsInBudget: 1, maxAttempts: nil, now: 1000, unit: 0.5)
        #expect(s1 == .retryScheduled && n1 == 1002.5)
        #expect(p.next(outcome: .failed, attemptsInBudget: 3, maxAttempts: nil, now: 0, unit: 0).0 == .dead)
        #expect(p.next(outcome: .timeout, attemptsInBudget: 3, maxAttempts: 5, now: 0, unit: 0).0 == .retryScheduled)
        #expect(p.next(outcome: .dead, attemptsInBudget: 1, maxAttempts: nil, now: 0, unit: 0).0 == .dead)
        #expect(p.next(outcome: .ok, attemptsInBudget: 1, maxAttempts: nil, now: 0, unit: 0).0 == .done)
        #expect(RunOutcome(exitCode: 0) == .ok && RunOutcome(exitCode: 75) == .retry && RunOutcome(exitCode: 65) == .dead && RunOutcome(exitCode: 1) == .failed)
    }
}

extension RetryPolicyTests {
    /// A shortage spends no attempt, so its delay is all that keeps it from a busy loop: with
    /// `HOOKHOST_RETRY_CAP=1e-300` (in range) it was capped to nothing.
    @Test func aShortageWaitsAtLeastItsFirstDelayWhateverTheCap() {
        let tiny = RetryPolicy(base: 1, cap: 1e-300, maxAttempts: 3)
        for streak in [1, 2, 30] {
            #expect(tiny.shortageDelay(streak: streak, first: 1, unit: 0) == 0.5)
            #expect(tiny.shortageDelay(streak: streak, first: 1, unit: 1) == 1)
        }
        let usual = RetryPolicy(base: 5, cap: 60, maxAttempts: 3)
        #expect(usual.shortageDelay(streak: 1, first: 1, unit: 1) == 1)
        #expect(usual.shortageDelay(streak: 4, first: 1, unit: 1) == 8)
        #expect(usual.shortageDelay(streak: 40, first: 1, unit: 1) == 60)
        #expect(usual.shortageDelay(streak: 40, first: 1, unit: 0) == 30)
    }
}
