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
        var stderrTail = ""
    }

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
            if code != 0 { a.failure = "exited with status \(code)" }
        case .signaled(let sig):
            a.failure = "killed by signal \(sig)"
        }
        a.output = jsonObjectOutput(r.stdout)
        return a
    }

    /// The function could not be started (not a shortage: that is re-queued instead).
    static func notStarted(_ reason: String) -> Attempt { Attempt(outcome: .failed, failure: reason) }

    /// The record that ends the attempt: done, a retry at a jittered time, or dead (last attempt,
    /// or exit 65). `unit` is a uniform random number in [0, 1).
    static func change(for job: Job, function f: ResolvedFunction, attempt a: Attempt, retry: RetryPolicy,
                       now: Double, seconds: Double, unit: Double) -> StateChange {
        let (state, nextAt) = retry.next(outcome: a.outcome, attemptsInBudget: job.attemptsInBudget,
                                         maxAttempts: f.settings.maxAttempts, now: now, unit: unit)
        var error = a.failure
        if state == .dead && a.outcome != .dead, let e = error { error = e + "; no attempts left" }
        if state == .done { error = nil }
        return StateChange(id: job.id, state: state, attempt: job.attempt, at: now, nextAt: nextAt, error: error,
                           function: f.name, exitCode: a.exitCode, durationMs: Int(seconds * 1000), output: a.output,
                           stderrTail: a.stderrTail.isEmpty ? nil : a.stderrTail)
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
