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

@Suite struct EventRoutingTests {
    @Test(arguments: ["batch.succeeded", "video.generated", "ping", "a-b_c.d9", String(repeating: "a", count: 128)])
    func validTypes(_ t: String) { #expect(EventType.isValid(t)) }

    @Test(arguments: ["", ".batch", "batch.", "a..b", "../etc/passwd", "a/b", "a\0b", "a b", "é", String(repeating: "a", count: 129), "_default/x", "..", "."])
    func invalidTypes(_ t: String) { #expect(!EventType.isValid(t)) }

    @Test func candidatesAndAlias() {
        #expect(EventType.candidates("batch.succeeded") == ["batch.succeeded", "batch", "_default"])
        #expect(EventType.candidates("ping") == ["ping", "_default"])
        #expect(EventType.canonical("batch.completed") == "batch.succeeded")
        #expect(EventType.canonical("batch.failed") == "batch.failed")
    }

    @Test func resolvesExactThenFamilyThenDefault() throws {
        let dir = makeTempDir("fn")
        defer { FileSystem.removeTree(dir) }
        let table = FunctionTable(directory: dir)
        #expect(table.resolve("batch.failed") == nil)
        writeFile(dir + "/_default", "#!/bin/sh\n", mode: 0o755)
        #expect(table.resolve("batch.failed")?.name == "_default")
        writeFile(dir + "/batch", "#!/bin/sh\n", mode: 0o755)
        #expect(table.resolve("batch.failed")?.name == "batch")
        writeFile(dir + "/batch.failed", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/batch.failed.json", #"{"timeout": 7, "max_concurrency": 2, "max_attempts": 3, "fetch": false, "env": {"K": "v"}, "future": 1}"#)
        let f = try #require(table.resolve("batch.failed"))
        #expect(f.name == "batch.failed")
        #expect(f.settings.timeout == 7)
        #expect(f.settings.maxConcurrency == 2)
        #expect(f.settings.maxAttempts == 3)
        #expect(f.settings.fetch == false)
        #expect(f.settings.env.map { "\($0.0)=\($0.1)" } == ["K=v"])
        // Not executable: skipped over.
        writeFile(dir + "/video.generated", "#!/bin/sh\n", mode: 0o644)
        #expect(table.resolve("video.generated")?.name == "_default")
        // Removal takes effect at once.
        unlink(dir + "/batch.failed")
        #expect(table.resolve("batch.failed")?.name == "batch")
        #expect(table.resolve("../batch") == nil)
        #expect(table.all().map(\.name) == ["_default", "batch"])
    }

    @Test func brokenSidecarIsReportedNotIgnored() {
        let dir = makeTempDir("fn")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/ping", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/ping.json", #"{"timeout": "soon"}"#)
        #expect(FunctionTable(directory: dir).resolve("ping")?.sidecarError?.contains("timeout") == true)
    }

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

    @Test func stdinDocumentIsExactlyTheContract() throws {
        let body = bytes(#"{"type":"batch.succeeded", "data":{"id":"batches/abc123","n":123456789012345678901,"user_metadata":{"job_group":"nightly", "p":1}}}"#)
        let parsed = try JSONParser.parse(body)
        let out = FunctionInput.encode(id: "wh_msg_0001", attempt: 2, receivedAt: 1777896001.123, verifiedBy: .hmac, type: "batch.succeeded",
                                       body: body, userMetadata: FunctionInput.userMetadata(body: body, parsed: parsed), result: nil)
        let expected = #"{"contract":1,"delivery":{"id":"wh_msg_0001","attempt":2,"received_at":"2026-05-04T12:00:01.123Z","verified_by":"hmac"},"type":"batch.succeeded","event":"#
            + String(decoding: body, as: UTF8.self) + #","user_metadata":{"job_group":"nightly", "p":1},"result":null}"# + "\n"
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    @Test func whitespaceAroundTheBodyIsNotPartOfTheEmbeddedEvent() {
        let out = FunctionInput.encode(id: "i", attempt: 1, receivedAt: 0, verifiedBy: .hmac, type: "t",
                                       body: bytes(" \r\n{\"type\":\"t\",\n \"a\":1}\n\n"), userMetadata: nil, result: nil)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains(#""event":{"type":"t","# + "\n" + #" "a":1},"user_metadata""#))
        #expect(text.hasSuffix("}\n") && !text.dropLast().hasSuffix("\n"))
    }

    @Test func userMetadataFallsBackToTopLevelThenNull() throws {
        let top = bytes(#"{"type":"x","user_metadata":{"a":1},"data":{}}"#)
        #expect(FunctionInput.userMetadata(body: top, parsed: try JSONParser.parse(top)).map { Array($0) } == bytes(#"{"a":1}"#))
        let none = bytes(#"{"type":"x","data":{"user_metadata":null}}"#)
        #expect(FunctionInput.userMetadata(body: none, parsed: try JSONParser.parse(none)) == nil)
    }

    @Test func timestampFormatting() {
        #expect(formatTimestamp(1777896000) == "2026-05-04T12:00:00.000Z")
        #expect(formatTimestamp(1777896001.9999) == "2026-05-04T12:00:02.000Z")
        #expect(formatTimestamp(1777896001.0004) == "2026-05-04T12:00:01.000Z")
    }
}
