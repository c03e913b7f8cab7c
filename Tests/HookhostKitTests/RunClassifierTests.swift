import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct RunClassifierTests {
    static func result(_ t: ProcessResult.Termination, stdout: String = "") -> ProcessResult {
        ProcessResult(termination: t, stdout: Array(stdout.utf8), stdoutTruncated: false, stderrTail: Array("oops\n".utf8), duration: 0, pid: 1)
    }

    @Test func exitCodesMapToTheContractsOutcomes() {
        #expect(RunClassifier.classify(Self.result(.exited(0)), timeout: 5).outcome == .ok)
        #expect(RunClassifier.classify(Self.result(.exited(75)), timeout: 5).outcome == .retry)
        #expect(RunClassifier.classify(Self.result(.exited(65)), timeout: 5).outcome == .dead)
        #expect(RunClassifier.classify(Self.result(.exited(3)), timeout: 5).failure == "exited with status 3")
        #expect(RunClassifier.classify(Self.result(.signaled(9)), timeout: 5).failure == "killed by signal 9")
        let t = RunClassifier.classify(Self.result(.timedOut), timeout: 2.5)
        #expect(t.outcome == .timeout && t.failure == "timed out after 2.5 s; process group killed")
    }

    @Test func onlyAJSONObjectIsKeptAsOutput() {
        #expect(RunClassifier.classify(Self.result(.exited(0), stdout: " {\"a\":1}\n"), timeout: 1).output == Array(#"{"a":1}"#.utf8))
        #expect(RunClassifier.classify(Self.result(.exited(0), stdout: "[1]"), timeout: 1).output == nil)
        var cut = Self.result(.exited(0), stdout: #"{"a":1}"#)
        cut.stdoutTruncated = true
        #expect(RunClassifier.classify(cut, timeout: 1).output == nil)
        #expect(RunClassifier.classify(Self.result(.exited(0), stdout: "hello"), timeout: 1).output == nil)
        let deep = String(repeating: "{\"a\":", count: 128) + "1" + String(repeating: "}", count: 128)
        #expect(RunClassifier.classify(Self.result(.exited(0), stdout: deep), timeout: 1).output == nil)
    }

    @Test func lastAttemptFailureIsDeadAndSaysSo() {
        var s = FunctionSettings()
        s.maxAttempts = 2
        let f = InvocationTests.function(s)
        let failed = RunClassifier.classify(Self.result(.exited(1)), timeout: 1)
        let retry = RunClassifier.change(for: InvocationTests.job(attempt: 1), function: f, attempt: failed, retry: RetryPolicy(base: 1, cap: 10), retryLaterFor: 60,
                                         now: 100, seconds: 0.5, unit: 0.5)
        #expect(retry.state == .retryScheduled && retry.nextAt == 100.5 && retry.durationMs == 500 && retry.stderrTail == "oops\n")
        let dead = RunClassifier.change(for: InvocationTests.job(attempt: 2), function: f, attempt: failed, retry: RetryPolicy(), retryLaterFor: 60,
                                        now: 100, seconds: 0, unit: 0)
        #expect(dead.state == .dead && dead.error == "exited with status 1; no attempts left")
        let ok = RunClassifier.change(for: InvocationTests.job(), function: f, attempt: RunClassifier.classify(Self.result(.exited(0)), timeout: 1),
                                      retry: RetryPolicy(), retryLaterFor: 60, now: 1, seconds: 0, unit: 0)
        #expect(ok.state == .done && ok.error == nil)
    }

    @Test func tryAgainLaterSpendsNoAttemptAndIsBoundedByTime() {
        var s = FunctionSettings()
        s.maxAttempts = 1
        let f = InvocationTests.function(s)
        let later = RunClassifier.classify(Self.result(.exited(75)), timeout: 1)
        let policy = RetryPolicy(base: 1, cap: 10)
        let first = RunClassifier.change(for: InvocationTests.job(attempt: 1), function: f, attempt: later, retry: policy,
                                         retryLaterFor: 60, now: 100, seconds: 0, unit: 1)
        #expect(first.state == .retryScheduled && first.attemptBase == 1 && first.retryLaterSince == 100 && first.nextAt == 101)
        // Attempt 2 while the budget (max_attempts 1) is untouched: still not ready 30 s on.
        let second = RunClassifier.change(for: InvocationTests.job(attempt: 2, base: 1, retryLaterSince: 100), function: f, attempt: later,
                                          retry: policy, retryLaterFor: 60, now: 130, seconds: 0, unit: 1)
        #expect(second.state == .retryScheduled && second.attemptBase == 2 && second.retryLaterSince == 100 && second.nextAt == 140)
        let expired = RunClassifier.change(for: InvocationTests.job(attempt: 3, base: 2, retryLaterSince: 100), function: f, attempt: later,
                                           retry: policy, retryLaterFor: 60, now: 160, seconds: 0, unit: 1)
        #expect(expired.state == .dead && expired.error?.contains("exit 75") == true)
        // Any other answer ends the run of "later"s.
        let failed = RunClassifier.change(for: InvocationTests.job(attempt: 3, base: 2, retryLaterSince: 100), function: f,
                                          attempt: RunClassifier.classify(Self.result(.exited(1)), timeout: 1),
                                          retry: policy, retryLaterFor: 60, now: 150, seconds: 0, unit: 1)
        #expect(failed.state == .dead && failed.retryLaterSince == nil)
    }

    // Issue 12 item 2: mistakes are reported, not swallowed.
    static func result(stdout: String, code: Int32 = 0) -> ProcessResult {
        ProcessResult(termination: .exited(code), stdout: Array(stdout.utf8), stdoutTruncated: false, stderrTail: [], duration: 0, pid: 1)
    }

    @Test func nonJSONStdoutKeepsItsFirstBytes() {
        let long = "hello, this is not JSON " + String(repeating: "x", count: 400)
        let a = RunClassifier.classify(Self.result(stdout: long), timeout: 5)
        #expect(a.output == nil)
        #expect(a.stdoutHead == String(long.prefix(RunClassifier.stdoutHeadBytes)))
        #expect(a.outcome == .ok)  // the outcome does not change
        // A JSON object is the output, nothing else is kept; an empty stdout says nothing.
        #expect(RunClassifier.classify(Self.result(stdout: "{\"a\":1}\n"), timeout: 5).stdoutHead == nil)
        #expect(RunClassifier.classify(Self.result(stdout: " \n"), timeout: 5).stdoutHead == nil)
        #expect(RunClassifier.classify(Self.result(stdout: "[1,2]"), timeout: 5).stdoutHead == "[1,2]")
    }

    @Test func exit65SaysTheFunctionDeclaredTheInputUnusable() {
        let a = RunClassifier.classify(Self.result(stdout: "", code: 65), timeout: 5)
        #expect(a.outcome == .dead)
        #expect(a.failure == "function declared the input unusable (exit 65)")
    }
}
