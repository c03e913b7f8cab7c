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

/// `hookhost run` (issue 19 item 3): one local run gives the function what a worker's attempt
/// gives it, and reads its exit as the host does. Real processes (`/bin/sh` scripts).
@Suite struct LocalRunTests {
    /// A script that saves its stdin, environment and working directory next to itself, then
    /// exits with `$CODE` (from the sidecar).
    static let recorder = """
    #!/bin/sh
    cat > "$OUT/stdin"
    env > "$OUT/env"
    pwd > "$OUT/cwd"
    echo '{"ok": true}'
    echo "to stderr" >&2
    [ -n "$SLEEP" ] && sleep "$SLEEP"
    exit "${CODE:-0}"
    """

    static func setUp(code: Int, extra: String = "") -> (dir: String, function: ResolvedFunction, config: DispatcherConfig) {
        let dir = makeTempDir("localrun")
        mkdir(dir + "/out", 0o700)
        writeFile(dir + "/batch.succeeded", recorder, mode: 0o755)
        writeFile(dir + "/batch.succeeded.json", #"{"timeout": 1, "env": {"OUT": "\#(dir)/out", "CODE": "\#(code)"\#(extra)}, "pass_env": ["FROM_HOST"]}"#)
        var config = testDispatcherConfig(root: dir, workers: 1, environment: ["PATH=/usr/bin:/bin", "HOME=/", "LANG=C.UTF-8"])
        config.passableEnvironment = ["FROM_HOST": "passed", "OTHER": "not passed"]
        return (dir, FunctionTable.function(at: dir + "/batch.succeeded", name: "batch.succeeded"), config)
    }

    static let body = bytes(#"{"type":"batch.succeeded","data":{"id":"batches/b1","user_metadata":{"k":1}}}"#)

    static func read(_ path: String) -> String {
        String(decoding: (try? SmallFile.read(path, limit: 1 << 20)) ?? [], as: UTF8.self)
    }

    @Test func theFunctionGetsTheWorkersStdinEnvironmentAndScratchDirectory() throws {
        let (dir, f, config) = Self.setUp(code: 0)
        defer { FileSystem.removeTree(dir) }
        let result = FetchedResult(uri: "files/batch-1", path: dir + "/result.jsonl", bytes: 3, sha256: "abc", contentType: nil)
        let d = LocalRun.Delivery(id: "local_1", attempt: 2, receivedAt: 1_777_000_000.5, type: "batch.succeeded", body: Self.body, result: result)
        let r = LocalRun.run(d, function: f, config: config)
        #expect(r.outcome == .ok && r.exitCode == 0 && r.failure == nil)
        #expect(r.storedAsOutput && String(decoding: r.stdout, as: UTF8.self) == "{\"ok\": true}\n")
        #expect(r.stderrTail == "to stderr\n")
        // Byte for byte the document the host's encoder makes for the same delivery.
        let expected = FunctionInput.encode(id: "local_1", attempt: 2, receivedAt: 1_777_000_000.5, verifiedBy: .hmac, type: "batch.succeeded",
                                            body: Self.body, userMetadata: bytes(#"{"k":1}"#)[...], result: result)
        #expect(Self.read(dir + "/out/stdin") == String(decoding: expected, as: UTF8.self))
        let env = Set(Self.read(dir + "/out/env").split(separator: "\n").map(String.init))
        let workDir = try #require(env.first { $0.hasPrefix("HOOKHOST_WORK_DIR=") }).dropFirst("HOOKHOST_WORK_DIR=".count)
        for line in ["HOOKHOST_EVENT_TYPE=batch.succeeded", "HOOKHOST_DELIVERY_ID=local_1", "HOOKHOST_ATTEMPT=2",
                     "HOOKHOST_RESULT_PATH=\(dir)/result.jsonl", "FROM_HOST=passed", "CODE=0", "LANG=C.UTF-8"] {
            #expect(env.contains(line), "\(line) missing from \(env.sorted())")
        }
        #expect(!env.contains { $0.hasPrefix("OTHER=") })
        #expect(workDir.hasPrefix(dir + "/work/") && Self.read(dir + "/out/cwd") == workDir + "\n")
        // Removed afterwards, as after a worker's run.
        #expect(access(String(workDir), F_OK) != 0)
        #expect(r.environment.contains("HOOKHOST_DELIVERY_ID=local_1"))
    }

    @Test(arguments: [(0, RunOutcome.ok), (75, .retry), (65, .dead), (1, .failed), (3, .failed)])
    func exitCodesReadAsTheHostReadsThem(code: Int, outcome: RunOutcome) {
        let (dir, f, config) = Self.setUp(code: code)
        defer { FileSystem.removeTree(dir) }
        let d = LocalRun.Delivery(id: "x", attempt: 1, receivedAt: 0, type: "batch.succeeded", body: Self.body, result: nil)
        let r = LocalRun.run(d, function: f, config: config)
        #expect(r.outcome == outcome && r.exitCode == code)
        #expect((r.failure == nil) == (code == 0))
    }

    @Test func theSidecarTimeoutEndsTheRunAsATimeout() {
        let (dir, f, config) = Self.setUp(code: 0, extra: #", "SLEEP": "30""#)
        defer { FileSystem.removeTree(dir) }
        let d = LocalRun.Delivery(id: "slow", attempt: 1, receivedAt: 0, type: "batch.succeeded", body: Self.body, result: nil)
        let r = LocalRun.run(d, function: f, config: config)
        #expect(r.outcome == .timeout && r.exitCode == nil && r.timeout == 1)
        #expect(r.failure == "timed out after 1 s; process group killed")
    }

    @Test func anUnusableSidecarIsNotStartedAndSaysWhy() {
        let (dir, _, config) = Self.setUp(code: 0)
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/batch.succeeded.json", #"{"timeout": "soon"}"#)
        let f = FunctionTable.function(at: dir + "/batch.succeeded", name: "batch.succeeded")
        let d = LocalRun.Delivery(id: "x", attempt: 1, receivedAt: 0, type: "batch.succeeded", body: Self.body, result: nil)
        let r = LocalRun.run(d, function: f, config: config)
        #expect(r.outcome == .failed && r.failure?.hasPrefix("sidecar unusable: batch.succeeded.json") == true)
        #expect(access(dir + "/out/stdin", F_OK) != 0, "the function must not have run")
    }
}
