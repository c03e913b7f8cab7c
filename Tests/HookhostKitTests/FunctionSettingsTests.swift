import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FunctionSettingsTests {
    static let absurd = ["1e999", "1e17", "-5", "\"ten\"", "0", "null", "[]", "2.5"]

    @Test(arguments: ["timeout", "max_concurrency", "max_attempts", "retry_later_for"])
    func absurdNumbersAreRejectedNamingTheField(_ field: String) {
        for raw in FunctionSettingsTests.absurd {
            if raw == "2.5" && (field == "timeout" || field == "retry_later_for") { continue }  // fractional seconds are fine
            do {
                _ = try FunctionSettings.parse(Array("{\"\(field)\": \(raw)}".utf8))
                Issue.record("\(field)=\(raw) accepted")
            } catch {
                #expect(error.setting == "sidecar \(field)")
                #expect(error.message.contains("expected"))
            }
        }
    }

    @Test func inRangeValuesAndIntegralFloats() throws {
        let s = try FunctionSettings.parse(Array(#"{"timeout": 86400, "max_concurrency": 4.0, "max_attempts": 1e1, "retry_later_for": 0.5}"#.utf8))
        #expect(s.timeout == 86_400 && s.maxConcurrency == 4 && s.maxAttempts == 10 && s.retryLaterFor == 0.5)
    }

    @Test func unknownKeysAreReportedNotFatal() throws {
        let s = try FunctionSettings.parse(Array(#"{"colour": "blue", "timeout": 3, "pass_env": ["GEMINI_API_KEY"]}"#.utf8))
        #expect(s.unknownKeys == ["colour"])
        #expect(s.passEnv == ["GEMINI_API_KEY"])
        #expect(throws: ConfigError.self) { try FunctionSettings.parse(Array(#"{"pass_env": ["A=B"]}"#.utf8)) }
    }
}

@Suite struct SettingRangeTests {
    @Test func parsesOnlyPlainDecimals() {
        let r = SettingRange.seconds(max: 100)
        #expect(r.parse("1.5") == 1.5)
        #expect(r.parse(" 100 ") == 100)
        for bad in ["inf", "nan", "0x10", "1e999", "100.01", "0", "-1", "", "1_0"] { #expect(r.parse(bad) == nil, "\(bad)") }
        #expect(SettingRange.seconds(max: 5, allowZero: true).parse("0") == 0)
        #expect(SettingRange.count(1, 8).parse("8") == 8)
        #expect(SettingRange.count(1, 8).parse("9") == nil)
        #expect(SettingRange.count(1, 8).parse("1e0") == nil)
        #expect(SettingRange.count(1, 8).expectation == "an integer from 1 to 8")
    }
}

@Suite struct ControlQueryTests {
    @Test func malformedQueriesAreErrorsNotCrashes() {
        for bad in ["/d?=", "/d?=x", "/d?a=1&a=2", "/d?&&=&"] {
            guard case .failure = ControlEndpoint.query(bad) else { Issue.record("\(bad) accepted"); continue }
        }
        #expect((try? ControlEndpoint.query("/d?state=dead&type=a%2Eb&x").get()) == ["state": "dead", "type": "a.b", "x": ""])
        #expect((try? ControlEndpoint.query("/d?&state=dead&").get()) == ["state": "dead"])
    }
}

@Suite struct FileBudgetTests {
    @Test func connectionsLeaveTheReserve() {
        #expect(FileBudget.connections(limit: 1 << 20, inUse: 20, workers: 2, fetchers: 4) == (1 << 20) - 20 - 16 - 16 - 16)
        // Too small a limit still leaves the host reachable.
        #expect(FileBudget.connections(limit: 40, inUse: 20, workers: 2, fetchers: 4) == 1)
    }

    @Test func rateLimitedLogCountsWhatItSuppressed() {
        var log = RateLimitedLog(interval: 5)
        #expect(log.shouldLog(now: 100) == 0)
        #expect(log.shouldLog(now: 101) == nil)
        #expect(log.shouldLog(now: 104) == nil)
        #expect(log.shouldLog(now: 105) == 2)
        #expect(log.shouldLog(now: 105.1) == nil)
    }
}
