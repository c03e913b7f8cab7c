import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Exponential backoff with full jitter: attempt n waits uniformly in [0, min(cap, base·2^(n-1))].
public struct RetryPolicy: Sendable {
    public var base: Double
    public var cap: Double
    public var maxAttempts: Int

    public init(base: Double = 5, cap: Double = 3600, maxAttempts: Int = 8) {
        self.base = base
        self.cap = cap
        self.maxAttempts = maxAttempts
    }

    /// The ceiling of the delay after `attempt` failed attempts (before jitter).
    public func ceiling(afterAttempt attempt: Int) -> Double {
        let exp = min(max(attempt - 1, 0), 60)
        return min(cap, base * Double(1 << exp))
    }

    /// The delay after `attempt` failed, given a uniform random `unit` in [0, 1).
    public func delay(afterAttempt attempt: Int, unit: Double) -> Double {
        ceiling(afterAttempt: attempt) * min(max(unit, 0), 1)
    }

    /// The delay before trying again after the host ran short (disk, descriptors, processes) for
    /// the `streak`-th time in a row: from `first`, doubling, up to the cap — but never below
    /// `first`, whatever the cap: `HOOKHOST_RETRY_CAP=1e-300` (in range) made a shortage, which
    /// spends no attempt, a busy loop. Jittered in [ceiling/2, ceiling].
    public func shortageDelay(streak: Int, first: Double, unit: Double) -> Double {
        let ceiling = max(first, min(cap, first * Double(1 << min(max(streak - 1, 0), 20))))
        return ceiling * (0.5 + 0.5 * min(max(unit, 0), 1))
    }

    /// What follows a finished attempt.
    public func next(outcome: RunOutcome, attemptsInBudget: Int, maxAttempts override: Int?, now: Double, unit: Double) -> (DeliveryState, Double?) {
        switch outcome {
        case .ok: return (.done, nil)
        case .dead: return (.dead, nil)
        case .retry, .failed, .timeout:
            if attemptsInBudget >= (override ?? maxAttempts) { return (.dead, nil) }
            return (.retryScheduled, now + delay(afterAttempt: attemptsInBudget, unit: unit))
        case .skipped: return (.skipped, nil)
        }
    }
}

/// How one run ended, as counted in `hookhost_runs_total{outcome}`.
public enum RunOutcome: String, Sendable, CaseIterable {
    case ok, retry, failed, timeout, dead, skipped

    /// Maps an exit status per the contract: 0 ok, 75 retry, 65 dead, anything else failed.
    public init(exitCode: Int32) {
        switch exitCode {
        case 0: self = .ok
        case 75: self = .retry
        case 65: self = .dead
        default: self = .failed
        }
    }
}
