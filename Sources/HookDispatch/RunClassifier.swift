import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// How one attempt ended, in the contract's terms, and the state change that follows. Pure: the
/// launcher's result (or its refusal to start) goes in, a `StateChange` comes out.
enum RunClassifier {
    /// What an attempt produced.
    struct Attempt: Sendable, Equatable {
        var outcome: RunOutcome
        /// Why it did not succeed (nil for ok).
        var failure: String?
        var exitCode: Int?
        /// stdout, when it is a JSON object the spool can keep.
        var output: [UInt8]?
        /// The first bytes of a stdout that was not kept (not one JSON object, or cut at the
        /// limit): the function meant to say something, and the operator must be able to see what.
        var stdoutHead: String?
        var stderrTail = ""
    }

    /// How much of a stdout that is not a JSON object the run's record keeps.
    static let stdoutHeadBytes = 200

    /// Maps a finished process to the contract's outcomes: exit 0 ok, 75 retry, 65 dead, other
    /// exits, signals and timeouts failed.
    static func classify(_ r: ProcessResult, timeout: Double) -> Attempt {
        var a = Attempt(outcome: .failed)
        a.stderrTail = String(decoding: r.stderrTail.suffix(8192), as: UTF8.self)
        switch r.termination {
        case .timedOut:
            a.outcome = .timeout
            a.failure = "timed out after \(SettingRange.format(timeout)) s; process group killed"
        case .exited(let code):
            a.exitCode = Int(code)
            a.outcome = RunOutcome(exitCode: code)
            if code == 65 {
                a.failure = "function declared the input unusable (exit 65)"
            } else if code != 0 {
                a.failure = "exited with status \(code)"
            }
        case .signaled(let sig):
            a.failure = "killed by signal \(sig)"
        }
        // A stdout cut at the limit is not the function's output, even if the part kept parses.
        a.output = r.stdoutTruncated ? nil : jsonObjectOutput(r.stdout)
        if a.output == nil && !trimmingJSONWhitespace(r.stdout).isEmpty {
            a.stdoutHead = String(decoding: r.stdout.prefix(stdoutHeadBytes), as: UTF8.self)
        }
        return a
    }

    /// The function could not be started (not a shortage: that is re-queued instead).
    static func notStarted(_ reason: String) -> Attempt { Attempt(outcome: .failed, failure: reason) }

    /// The record that ends the attempt: done, a retry at a jittered time, or dead (last attempt,
    /// or exit 65). Exit 75 ("try again later") spends no attempt — the budget's base moves up
    /// with it — and is bounded by time instead: after `retryLaterFor` seconds (the sidecar's
    /// `retry_later_for` wins) of such answers the delivery is dead. `unit` is uniform in [0, 1).
    static func change(for job: Job, function f: ResolvedFunction, attempt a: Attempt, retry: RetryPolicy,
                       retryLaterFor: Double, now: Double, seconds: Double, unit: Double) -> StateChange {
        var change = StateChange(id: job.id, state: .done, attempt: job.attempt, at: now, error: a.failure,
                                 function: f.name, exitCode: a.exitCode, durationMs: Int(seconds * 1000), output: a.output,
                                 stderrTail: a.stderrTail.isEmpty ? nil : a.stderrTail)
        change.stdoutHead = a.stdoutHead
        if a.outcome == .retry {
            let since = job.retryLaterSince ?? now
            let limit = f.settings.retryLaterFor ?? retryLaterFor
            if now - since >= limit {
                change.state = .dead
                change.error = "still answering \"try again later\" (exit 75) after \(SettingRange.format((now - since).rounded())) s"
                    + " (retry_later_for: \(SettingRange.format(limit)) s)"
                return change
            }
            // Waits grow with how long it has been not ready (about doubling), capped, jittered.
            let ceiling = min(retry.cap, max(retry.base, now - since))
            change.state = .retryScheduled
            change.nextAt = now + ceiling * (0.5 + 0.5 * min(max(unit, 0), 1))
            change.attemptBase = job.attemptBase + 1
            change.retryLaterSince = since
            return change
        }
        let (state, nextAt) = retry.next(outcome: a.outcome, attemptsInBudget: job.attemptsInBudget,
                                         maxAttempts: f.settings.maxAttempts, now: now, unit: unit)
        change.state = state
        change.nextAt = nextAt
        if state == .dead && a.outcome != .dead, let e = a.failure { change.error = e + "; no attempts left" }
        if state == .done { change.error = nil }
        return change
    }

    /// stdout is kept only when it is one JSON object (surrounding whitespace allowed) that the
    /// spool can read back inside its state record: deeper nesting would make recovery reject
    /// the record, and a finished delivery would run again after every restart.
    static func jsonObjectOutput(_ stdout: [UInt8]) -> [UInt8]? {
        let trimmed = Array(trimmingJSONWhitespace(stdout))
        guard let json = try? JSONParser.parse(trimmed, maxDepth: StateChange.maxOutputDepth), json.isObject else { return nil }
        return trimmed
    }
}
