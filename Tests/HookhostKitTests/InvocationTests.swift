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
                                    "HOOKHOST_EVENT_TYPE=batch.succeeded", "HOOKHOST_DELIVERY_ID=wh_1", "HOOKHOST_WORK_DIR=\(inv.workDir)",
                                    "HOOKHOST_EMIT=\(inv.workDir)/emit.jsonl"])
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
