import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct InvocationTests {
    static func job(attempt: Int = 1, base: Int = 0, retryLaterSince: Double? = nil) -> Job {
        var info = DeliveryInfo(id: "wh_1", type: "batch.succeeded", receivedAt: 0, verifiedBy: .hmac, updatedAt: 0,
                                body: SpoolRef(offset: 0, length: 0))
        info.attempt = attempt
        info.attemptBase = base
        info.retryLaterSince = retryLaterSince
        return Job(StartedDelivery(info: info, body: Array(#" {"type":"batch.succeeded","data":{"user_metadata":{"k":"v"}}} "#.utf8)))
    }

    static func function(_ settings: FunctionSettings = FunctionSettings()) -> ResolvedFunction {
        ResolvedFunction(name: "batch", path: "/fn/batch", settings: settings, sidecarError: nil)
    }

    @Test func environmentIsExactlyTheContractsAndHostVariablesWin() {
        var s = FunctionSettings()
        s.env = [("KEY", "v"), ("HOOKHOST_ATTEMPT", "99"), ("PATH", "/evil")]
        s.passEnv = ["GEMINI_API_KEY", "HOOKHOST_SECRETS", "UNSET"]
        var config = DispatcherConfig(workRoot: "/data/work", baseEnvironment: ["PATH=/usr/bin", "HOME=/", "LANG=C.UTF-8"])
        config.passableEnvironment = ["GEMINI_API_KEY": "k", "HOOKHOST_SECRETS": "whsec_x"]
        config.functionTimeout = 300
        let inv = Invocation.build(job: Self.job(), type: "batch.succeeded", function: Self.function(s), config: config)
        #expect(inv.environment == ["GEMINI_API_KEY=k", "KEY=v", "HOOKHOST_ATTEMPT=1", "PATH=/usr/bin", "HOME=/", "LANG=C.UTF-8",
                                    "HOOKHOST_EVENT_TYPE=batch.succeeded", "HOOKHOST_DELIVERY_ID=wh_1", "HOOKHOST_WORK_DIR=\(inv.workDir)"])
        #expect(inv.refusedPassEnv == ["HOOKHOST_SECRETS"])
        #expect(inv.workDir.hasPrefix("/data/work/") && inv.workDir.hasSuffix(".1"))
        #expect(inv.timeout == 300 && inv.executable == "/fn/batch")
        let stdin = String(decoding: inv.stdin, as: UTF8.self)
        #expect(stdin.hasSuffix("\n") && stdin.contains(#""user_metadata":{"k":"v"}"#) && stdin.contains(#""result":null"#))
    }

    @Test func aResultAddsItsPathAndTheSidecarTimeoutWins() {
        var s = FunctionSettings()
        s.timeout = 7
        let r = FetchedResult(uri: "files/x", path: "/data/results/x.jsonl", bytes: 3, sha256: "ab", contentType: nil)
        let inv = Invocation.build(job: Self.job(), type: "batch.succeeded", function: Self.function(s),
                                   config: DispatcherConfig(workRoot: "/w", baseEnvironment: []), result: r)
        #expect(inv.environment.contains("HOOKHOST_RESULT_PATH=/data/results/x.jsonl"))
        #expect(inv.timeout == 7)
        #expect(String(decoding: inv.stdin, as: UTF8.self).contains(#""path":"/data/results/x.jsonl""#))
    }
}

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
}
