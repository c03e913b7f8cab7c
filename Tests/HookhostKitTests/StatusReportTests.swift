import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct StatusReportTests {
    /// A store with deliveries in the states a report counts: two dead for "refuses", one dead
    /// before any function ran, one waiting for a retry, one done.
    static func store(now: Double) -> MemoryDeliveryStore {
        let s = MemoryDeliveryStore(clock: FixedClock(now))
        for id in ["d1", "d2", "d3", "r1", "ok"] { s.admit(id: id, type: "t.\(id)", verifiedBy: .hmac, body: bytes("{}")) { _ in } }
        s.finish(StateChange(id: "d1", state: .dead, attempt: 1, at: now - 50, error: "exit 65", function: "refuses"))
        s.finish(StateChange(id: "d2", state: .dead, attempt: 8, at: now - 10, error: "exit 1; no attempts left", function: "refuses"))
        s.finish(StateChange(id: "d3", state: .dead, attempt: 0, at: now - 30, error: "body unreadable from spool"))
        s.finish(StateChange(id: "r1", state: .retryScheduled, attempt: 2, at: now - 20, nextAt: now + 60, error: "exit 1", function: "flaky"))
        s.finish(StateChange(id: "ok", state: .done, attempt: 1, at: now - 5, function: "fine"))
        return s
    }

    @Test func theSpoolGivesDeadLettersByFunctionAndTheLatestErrorsNewestFirst() {
        let now = 1_800_000_000.0
        var r = StatusReport()
        r.addSpool(StatusReportTests.store(now: now), now: now)
        #expect(r.deadLetters == [.init(function: "", count: 1), .init(function: "refuses", count: 2)])
        #expect(r.deadLetterTotal == 3)
        #expect(r.lastErrors.map(\.id) == ["d2", "r1", "d3", "d1"])
        #expect(r.lastErrors[1] == .init(at: now - 20, id: "r1", type: "t.r1", state: "retry_scheduled", function: "flaky", attempt: 2, error: "exit 1"))
        #expect(r.queue.depth == 1 && r.queue.retryScheduled == 1)
    }

    @Test func onlyTheLatestTenErrorsAreListed() {
        let many = (0..<25).map { i -> DeliveryInfo in
            var d = DeliveryInfo(id: "m\(i)", type: "t", receivedAt: 0, verifiedBy: .hmac, updatedAt: Double(i), body: SpoolRef(offset: 0, length: 0))
            d.state = .dead
            d.lastError = "e\(i)"
            return d
        }
        let latest = StatusReport.latestErrors(many, count: StatusReport.lastErrorCount)
        #expect(latest.map(\.id) == (15..<25).reversed().map { "m\($0)" })
    }

    static func sample() -> StatusReport {
        var r = StatusReport()
        r.running = true
        r.problems = ["no verification method configured: …"]
        r.version = "1.2.3"
        r.pid = 42
        r.startedAt = 1_800_000_000.125
        r.listen = "127.0.0.1:8080"
        r.data = "/var/lib/hookhost"
        r.secrets = ["3f1a9c07", "00aa11bb"]
        r.jwks = .init(source: "https://example.test/jwks.json", state: "stale", keys: 2, ageSeconds: 7300, error: "HTTP 500")
        r.fetch = .init(apiBase: "https://api.test", gcsBase: "https://gcs.test", extraHosts: ["cdn.test:8443"])
        r.functions = .init(directory: "/functions", list: [.init(name: "batch", executable: "/opt/batch", problem: nil),
                                                            .init(name: "ping", executable: "/functions/ping", problem: "sidecar unusable: x")],
                            problems: ["ping: sidecar unusable: x", "video.generated: not executable (chmod +x video.generated)"])
        r.queue = .init(depth: 3, received: 1, running: 1, retryScheduled: 1, oldestAgeSeconds: 125)
        r.deadLetters = [.init(function: "", count: 1), .init(function: "refuses", count: 2)]
        r.lastErrors = [.init(at: 1_800_000_100.5, id: "d2", type: "batch.failed", state: "dead", function: "refuses", attempt: 8, error: "exit 1")]
        r.at = 1_800_000_200
        return r
    }

    @Test func theJSONReadsBackAsTheSameReport() {
        let r = StatusReportTests.sample()
        #expect(StatusReport(json: r.json) == r)
        var offline = StatusReport()
        offline.problems = ["not running"]
        offline.at = 1_800_000_000
        #expect(StatusReport(json: offline.json) == offline)
        #expect(StatusReport(json: bytes(#"{"error":"no"}"#)) == nil)
        #expect(StatusReport(json: bytes("not json")) == nil)
    }

    @Test func theJSONSaysReadyOnlyWhenRunningWithoutProblems() throws {
        var r = StatusReportTests.sample()
        #expect(try JSONParser.parse(r.json)["ready"] == .bool(false))
        r.problems = []
        #expect(try JSONParser.parse(r.json)["ready"] == .bool(true))
        r.running = false
        #expect(try JSONParser.parse(r.json)["ready"] == .bool(false))
        let doc = try JSONParser.parse(StatusReportTests.sample().json)
        #expect(doc["dead_letters"]?["by_function"]?["refuses"]?.intValue == 2)
        #expect(doc["dead_letters"]?["total"]?.intValue == 3)
    }

    @Test func theTextLeadsWithTheVerdictAndShowsEverySection() {
        let text = StatusReportTests.sample().text(now: 1_800_000_200)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "hookhost 1.2.3 (pid 42, up 3m20s) on 127.0.0.1:8080")
        #expect(lines[1] == "NOT READY")
        #expect(lines[2] == "  - no verification method configured: …")
        for part in ["HMAC secrets  2 (fingerprints 3f1a9c07, 00aa11bb)",
                     "JWKS          https://example.test/jwks.json: stale, 2 keys, fetched 2h1m ago; last error: HTTP 500",
                     "extra hosts  cdn.test:8443", "functions in /functions (2)", "  batch  /opt/batch",
                     "    - video.generated: not executable (chmod +x video.generated)",
                     "unfinished  3 (1 running, 1 waiting for a retry, 1 received)", "oldest      arrived 2m5s ago",
                     "dead letters: 3", "  (no function)  1", "  refuses        2",
                     "last errors (newest first)", "  2027-01-15T08:01:40.500Z  dead  d2", "    type batch.failed, function refuses, attempt 8: exit 1"] {
            #expect(text.contains(part), "\(part)\n---\n\(text)")
        }
        var ready = StatusReportTests.sample()
        ready.problems = []
        #expect(ready.text(now: 1_800_000_200).split(separator: "\n")[1] == "READY")
    }

    @Test func aStoppedHostSaysSoFirstAndWhereTheRestComesFrom() {
        var r = StatusReport()
        r.problems = ["not running: no hookhost serve holds this data directory"]
        r.data = "/srv/data"
        let text = r.text(now: 0)
        #expect(text.hasPrefix("NOT RUNNING\n  - not running: no hookhost serve holds this data directory\n  (what follows is read from the data directory /srv/data)\n"))
        #expect(!text.contains("verification"))
        #expect(text.contains("last errors: none"))
    }

    @Test(arguments: [(0.0, "0s"), (59.4, "59s"), (60, "1m"), (125, "2m5s"), (3600, "1h"), (7380, "2h3m"), (86400, "1d"), (90000, "1d1h")])
    func agesAreShort(_ s: Double, _ text: String) {
        #expect(StatusReport.age(s) == text)
    }

    @Test func timestampsReadBackToTheMillisecond() {
        for t in [0.0, 1_800_000_000.125, 1_777_777_777.999] {
            #expect(StatusReport.timestamp(formatTimestamp(t)) == t)
        }
        #expect(StatusReport.timestamp("2026-05-01") == nil)
        #expect(StatusReport.timestamp("2026-05-01T10:00:00.00xZ") == nil)
    }

    @Test func functionsAndTheirProblemsComeFromTheDirectory() {
        let dir = makeTempDir("status-fns")
        writeNoopFunction(dir, "batch")
        writeNoopFunction(dir, "ping", sidecar: "{\"timeout\": \"soon\"}")
        writeNoopFunction(dir, "video", sidecar: "{\"timeuot\": 5}")
        writeFile(dir + "/lonely", "#!/bin/sh\n", mode: 0o644)
        symlink(dir + "/batch", dir + "/alias")
        var r = StatusReport()
        r.addFunctions(FunctionTable(directory: dir))
        let f = r.functions!
        #expect(f.list.map(\.name) == ["alias", "batch", "ping", "video"])
        #expect(f.list[0].executable == StatusReport.resolved(dir + "/batch"))
        #expect(f.list[1].problem == nil)
        #expect(f.list[2].problem?.hasPrefix("sidecar unusable") == true)
        #expect(f.list[3].problem == "sidecar has unknown keys (ignored): timeuot")
        #expect(f.problems.count == 3)
        #expect(f.problems.last == "lonely: not executable (chmod +x lonely); its deliveries are skipped or go to the next match")
        var missing = StatusReport()
        missing.addFunctions(FunctionTable(directory: dir + "/none"))
        #expect(missing.functions?.problems == ["functions directory \(dir)/none does not exist"])
        FileSystem.removeTree(dir)
    }

    @Test func theJWKSStateIsNamedAsReadyzNamesIt() {
        let base = JWKSStatus(location: "x", keys: 0, age: nil, failing: false, lastError: nil)
        #expect(base.stateName == "not_fetched")
        #expect(JWKSStatus(location: "x", keys: 0, age: nil, failing: true, lastError: "e").stateName == "unavailable")
        #expect(JWKSStatus(location: "x", keys: 1, age: 5, failing: true, lastError: "e").stateName == "stale")
        #expect(JWKSStatus(location: "x", keys: 1, age: 5, failing: false, lastError: nil).stateName == "ok")
    }
}
