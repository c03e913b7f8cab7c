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

    // MARK: - on and match

    func parse(_ text: String) throws(ConfigError) -> FunctionSettings { try FunctionSettings.parse(Array(text.utf8)) }

    @Test func onTakesATypeOrFamilyOrAListOfThem() throws {
        #expect(try parse(#"{"on": "batch.succeeded"}"#).route.on == ["batch.succeeded"])
        #expect(try parse(#"{"on": ["batch.succeeded", "interaction", "batch.succeeded", "app.retry"]}"#).route.on
                == ["batch.succeeded", "interaction", "app.retry"])
        #expect(try parse(#"{"timeout": 5}"#).route.isEmpty)
        let m = try parse(#"{"match": {"job_group": "nightly-eval", "tenant.region": ["eu", "us", "eu"], "n": 1, "ok": true, "x": null}}"#).route
        #expect(m.on == nil)
        #expect(m.match.map(\.path) == ["job_group", "tenant.region", "n", "ok", "x"])
        #expect(m.match[1].segments == ["tenant", "region"])
        #expect(m.match[1].values == [.string("eu"), .string("us")])
    }

    /// Each bad `on`/`match`, with the field and the words its error must name.
    static let badRoutes: [(String, String, String)] = {
        let keys = (0...32).map { "\"k\($0)\": 1" }.joined(separator: ", ")
        let values = (0...64).map(String.init).joined(separator: ", ")
        let types = (0...64).map { "\"t\($0)\"" }.joined(separator: ", ")
        let longPath = String(repeating: "a", count: 257)
        let deepPath = (0...16).map { "s\($0)" }.joined(separator: ".")
        let deepValue = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        return [
            (#"{"on": 42}"#, "sidecar on", "event type or family"),
            (#"{"on": []}"#, "sidecar on", "at least one"),
            (#"{"on": ["batch/succeeded"]}"#, "sidecar on", "batch/succeeded"),
            (#"{"on": ["batch..x"]}"#, "sidecar on", "plain dotted name"),
            (#"{"on": ["_default"]}"#, "sidecar on", "_default"),
            (#"{"on": "batch.completed"}"#, "sidecar on", "batch.succeeded"),
            (#"{"on": [\#(types)]}"#, "sidecar on", "at most 64"),
            (#"{"match": "nightly"}"#, "sidecar match", "object"),
            (#"{"match": {}}"#, "sidecar match", "at least one key"),
            (#"{"match": {\#(keys)}}"#, "sidecar match", "at most 32"),
            (#"{"match": {"n": [\#(values)]}}"#, "sidecar match", "at most 64"),
            (#"{"match": {"n": []}}"#, "sidecar match", "empty"),
            (#"{"match": {"\#(longPath)": 1}}"#, "sidecar match", "256 bytes"),
            (#"{"match": {"\#(deepPath)": 1}}"#, "sidecar match", "at most 16"),
            (#"{"match": {"a..b": 1}}"#, "sidecar match", "empty segment"),
            (#"{"match": {".a": 1}}"#, "sidecar match", "empty segment"),
            (#"{"match": {"": 1}}"#, "sidecar match", "empty segment"),
            (#"{"match": {"a\u0001": 1}}"#, "sidecar match", "control character"),
            (#"{"match": {"g": 1, "g": 2}}"#, "sidecar match", "twice"),
            (#"{"match": {"g": {"x": 1}}}"#, "sidecar match", "g: {\"x\":1} is not a string"),
            (#"{"match": {"g": [["x"]]}}"#, "sidecar match", "is not a string"),
            (#"{"match": {"g": \#(deepValue)}}"#, "sidecar match", "is not a string"),
            (#"{"match": {"g": 1e999}}"#, "sidecar match", "g: 1e999 is out of range"),
            (#"{"match": {"g": [1, -1e309]}}"#, "sidecar match", "out of range"),
            (#"{"match": {"g": 1e-400}}"#, "sidecar match", "out of range"),
            (#"{"match": {"g": "\#(String(repeating: "x", count: 1025))"}}"#, "sidecar match", "1024 bytes"),
            (#"{"match": {"g": 1.\#(String(repeating: "0", count: 1100))}}"#, "sidecar match", "1024 bytes"),
            (String(repeating: #"{"a":"#, count: 200) + "1" + String(repeating: "}", count: 200), "sidecar", "nesting deeper"),
        ]
    }()

    @Test func badOnAndMatchAreRefusedNamingTheField() {
        for (text, setting, words) in FunctionSettingsTests.badRoutes {
            do {
                let s = try parse(text)
                Issue.record("accepted: \(text.prefix(80)) → \(s.route)")
            } catch {
                #expect(error.setting == setting, "\(text.prefix(80))")
                #expect(error.message.contains(words), "\(text.prefix(80)): \(error.message)")
            }
        }
    }

    @Test func theRouteSurvivesAnUnusableOtherField() throws {
        let bytes = Array(#"{"on": "batch.succeeded", "match": {"g": "x"}, "timeout": -1}"#.utf8)
        #expect(throws: ConfigError.self) { try FunctionSettings.parse(bytes) }
        let route = try FunctionSettings.parseRoute(bytes)
        #expect(route.on == ["batch.succeeded"] && route.match.map(\.path) == ["g"])
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

/// `concurrency` and `rate` (issue 21): parsed like the other fields, refused naming the field.
extension FunctionSettingsTests {
    @Test func concurrencyAndRateAreRead() throws {
        let s = try parse(#"{"max_concurrency": 8, "concurrency": {"key": "user_metadata.job_group", "limit": 2}, "rate": {"limit": 60, "per": 60}}"#)
        #expect(s.concurrency?.key.text == "user_metadata.job_group" && s.concurrency?.limit == 2)
        #expect(s.concurrency?.key.root == .userMetadata(["job_group"]))
        #expect(s.rate == RateSpec(limit: 60, per: 60))
        #expect(s.unknownKeys.isEmpty)
        let keyed = try parse(#"{"rate": {"limit": 1000000, "per": 0.001, "key": "type"}}"#)
        #expect(keyed.rate?.limit == 1_000_000 && keyed.rate?.per == 0.001 && keyed.rate?.key?.root == .type)
        let both = try parse(#"{"concurrency": {"key": "user_metadata.t.id", "limit": 1024}, "rate": {"limit": 1, "per": 86400, "key": "user_metadata.t.id"}}"#)
        #expect(both.concurrency?.key == both.rate?.key)
        #expect(FlowLimits(both) == FlowLimits(total: .max, perKey: 1024, rate: .init(limit: 1, per: 86_400, perKey: true), keyPath: both.rate?.key))
    }

    /// Each bad value, with the field its error must name and words it must say.
    static let badFlow: [(String, String, String)] = [
        (#"{"concurrency": 2}"#, "sidecar concurrency", "must be an object"),
        (#"{"concurrency": [1]}"#, "sidecar concurrency", "must be an object"),
        (#"{"concurrency": {"key": "user_metadata.g"}}"#, "sidecar concurrency.limit", "required"),
        (#"{"concurrency": {"limit": 2}}"#, "sidecar concurrency.key", "required"),
        (#"{"concurrency": {"key": "user_metadata.g", "limit": 2, "scope": "x"}}"#, "sidecar concurrency", "unknown key \"scope\""),
        (#"{"concurrency": {"key": "user_metadata.g", "limit": 0}}"#, "sidecar concurrency.limit", "an integer from 1 to 1024"),
        (#"{"concurrency": {"key": "user_metadata.g", "limit": 1025}}"#, "sidecar concurrency.limit", "an integer from 1 to 1024"),
        (#"{"concurrency": {"key": "user_metadata.g", "limit": 1e999}}"#, "sidecar concurrency.limit", "got 1e999"),
        (#"{"concurrency": {"key": "user_metadata.g", "limit": -1}}"#, "sidecar concurrency.limit", "got -1"),
        (#"{"concurrency": {"key": "user_metadata.g", "limit": 1.5}}"#, "sidecar concurrency.limit", "an integer"),
        (#"{"concurrency": {"key": "user_metadata.g", "limit": "2"}}"#, "sidecar concurrency.limit", "got \"2\""),
        (#"{"concurrency": {"key": "data.id", "limit": 2}}"#, "sidecar concurrency.key", "type or user_metadata."),
        (#"{"concurrency": {"key": "user_metadata", "limit": 2}}"#, "sidecar concurrency.key", "type or user_metadata."),
        (#"{"concurrency": {"key": "user_metadata.a..b", "limit": 2}}"#, "sidecar concurrency.key", "empty segment"),
        (#"{"concurrency": {"key": 5, "limit": 2}}"#, "sidecar concurrency.key", "must be a string"),
        (#"{"rate": 60}"#, "sidecar rate", "must be an object"),
        (#"{"rate": {"limit": 60}}"#, "sidecar rate.per", "required"),
        (#"{"rate": {"per": 60}}"#, "sidecar rate.limit", "required"),
        (#"{"rate": {"limit": 60, "per": 60, "burst": 5}}"#, "sidecar rate", "unknown key \"burst\""),
        (#"{"rate": {"limit": 0, "per": 60}}"#, "sidecar rate.limit", "an integer from 1 to 1000000"),
        (#"{"rate": {"limit": 1000001, "per": 60}}"#, "sidecar rate.limit", "an integer from 1 to 1000000"),
        (#"{"rate": {"limit": 10, "per": 0}}"#, "sidecar rate.per", "from 0.001 up to 86400"),
        (#"{"rate": {"limit": 10, "per": 0.0009}}"#, "sidecar rate.per", "from 0.001 up to 86400"),
        (#"{"rate": {"limit": 10, "per": 86401}}"#, "sidecar rate.per", "from 0.001 up to 86400"),
        (#"{"rate": {"limit": 10, "per": 1e999}}"#, "sidecar rate.per", "got 1e999"),
        (#"{"rate": {"limit": 10, "per": -1}}"#, "sidecar rate.per", "got -1"),
        (#"{"rate": {"limit": 10, "per": 1, "key": "user_metadata."}}"#, "sidecar rate.key", "empty segment"),
        (#"{"concurrency": {"key": "user_metadata.a", "limit": 1}, "rate": {"limit": 1, "per": 1, "key": "user_metadata.b"}}"#,
         "sidecar rate.key", "must be the same"),
    ]

    @Test func badFlowFieldsAreRefusedNamingTheField() {
        for (text, setting, words) in Self.badFlow {
            do {
                _ = try parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.setting == setting, "\(text)")
                #expect(error.message.contains(words), "\(text): \(error.message)")
            }
        }
    }
}
