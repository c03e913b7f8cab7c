import Glibc
import Synchronization
import Testing
@testable import HookhostKit

/// A launcher that fails to start with the given errnos, in order, then runs "successfully".
final class RefusingLauncher: ProcessLauncher {
    private let failures: Mutex<[Int32]>
    /// `HOOKHOST_ATTEMPT` of every start tried.
    let attempts = Mutex<[String]>([])

    init(failing errnos: [Int32]) { failures = Mutex(errnos) }

    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let attempt = spec.environment.first { $0.hasPrefix("HOOKHOST_ATTEMPT=") }.map { String($0.dropFirst(17)) } ?? "?"
        attempts.withLock { $0.append(attempt) }
        if let e = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw SpawnError(executable: spec.executable, code: e) }
        return ProcessResult(termination: .exited(0), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
    }
}

@Suite struct DispatcherTests {
    /// Runs one delivery through a dispatcher with `launcher` and a budget of one attempt;
    /// returns its final state.
    func runOne(_ launcher: RefusingLauncher) throws -> DeliveryInfo? {
        let dir = makeTempDir("disp")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/_default", "#!/bin/sh\n", mode: 0o755)
        let spool = MemoryDeliveryStore()
        var config = DispatcherConfig(workRoot: dir + "/work", baseEnvironment: [])
        config.workers = 1
        config.retry = RetryPolicy(base: 0.01, cap: 0.05, maxAttempts: 1)
        config.shortageRetryDelay = 0.01
        config.nice = nil
        let d = Dispatcher(spool: spool, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics())
        #expect(admitSync(spool, "m1") == .accepted)
        d.start()
        for _ in 0..<500 {
            if let s = spool.info("m1")?.state, s == .done || s == .dead { break }
            usleep(10_000)
        }
        d.drain(grace: 2)
        return spool.info("m1")
    }

    @Test(arguments: [EMFILE, ENFILE, EAGAIN, ENOMEM])
    func resourceShortageAtSpawnSpendsNoAttempt(_ code: Int32) throws {
        let launcher = RefusingLauncher(failing: [code, code])
        let info = try runOne(launcher)
        #expect(info?.state == .done)
        #expect(info?.attempt == 1)
        #expect(launcher.attempts.withLock { $0 } == ["1", "1", "1"])
    }

    @Test(arguments: [ENOENT, EACCES])
    func otherSpawnErrorsAreFailedAttempts(_ code: Int32) throws {
        let launcher = RefusingLauncher(failing: [code])
        let info = try runOne(launcher)
        #expect(info?.state == .dead)
        #expect(launcher.attempts.withLock { $0 } == ["1"])
    }
}

/// Runs every function for `seconds` (by name) and records how many of each ran at once.
final class TimedLauncher: ProcessLauncher {
    let seconds: [String: Double]
    private let state = Mutex<(running: [String: Int], peak: [String: Int], finished: [String])>(([:], [:], []))

    init(seconds: [String: Double]) { self.seconds = seconds }

    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let name = String(spec.executable.split(separator: "/").last ?? "")
        state.withLock { s in
            s.running[name, default: 0] += 1
            s.peak[name] = max(s.peak[name] ?? 0, s.running[name]!)
        }
        usleep(UInt32((seconds[name] ?? 0) * 1_000_000))
        state.withLock { s in s.running[name]! -= 1; s.finished.append(name) }
        return ProcessResult(termination: .exited(0), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
    }

    var peak: [String: Int] { state.withLock { $0.peak } }
    var finished: [String] { state.withLock { $0.finished } }
}

@Suite struct DispatcherParkingTests {
    @Test func aFunctionAtItsLimitParksOnlyItsOwnDeliveries() throws {
        let dir = makeTempDir("park")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "slow", sidecar: #"{"max_concurrency": 1}"#)
        writeNoopFunction(dir + "/fn", "fast")
        let store = MemoryDeliveryStore()
        let config = testDispatcherConfig(root: dir, workers: 3)
        let launcher = TimedLauncher(seconds: ["slow": 0.05, "fast": 0])
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics())
        for i in 0..<4 { #expect(admitSync(store, "s\(i)", type: "slow") == .accepted) }
        for i in 0..<4 { #expect(admitSync(store, "f\(i)", type: "fast") == .accepted) }
        d.start()
        for _ in 0..<500 where store.list(state: .done).count < 8 { usleep(10_000) }
        d.drain(grace: 2)
        #expect(store.list(state: .done).count == 8)
        #expect(launcher.peak["slow"] == 1)
        // The fast function was not held behind the slow one's limit: all of it finished before
        // the slow deliveries did.
        let order = launcher.finished
        #expect(order.lastIndex(of: "fast")! < order.lastIndex(of: "slow")!)
        #expect(store.list().allSatisfy { $0.attempt == 1 })
    }
}

/// Records the stdin of every run; exits with the codes given in order (then 0).
final class RecordingLauncher: ProcessLauncher {
    private let state = Mutex<(stdins: [[UInt8]], envs: [[String]], codes: [Int32])>(([], [], []))
    init(codes: [Int32] = []) { state.withLock { $0.codes = codes } }
    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let code = state.withLock { s -> Int32 in
            s.stdins.append(spec.stdin)
            s.envs.append(spec.environment)
            return s.codes.isEmpty ? 0 : s.codes.removeFirst()
        }
        return ProcessResult(termination: .exited(code), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
    }
    var stdins: [JSON] { state.withLock { $0.stdins.compactMap { try? JSONParser.parse($0) } } }
    var envs: [[String]] { state.withLock { $0.envs } }
}

@Suite struct DispatcherFetchTests {
    /// One delivery through a dispatcher with a memory store, a scripted fetcher and a recording
    /// launcher; returns the final state once it is finished (or after ~5 s).
    func run(type: String, data: String, fetcher: MemoryFetcher, launcher: RecordingLauncher,
             sidecar: String? = nil) throws -> (DeliveryInfo?, String) {
        let dir = makeTempDir("dfetch")
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/" + type, "#!/bin/sh\n", mode: 0o755)
        if let sidecar { writeFile(dir + "/fn/" + type + ".json", sidecar, mode: 0o644) }
        let store = MemoryDeliveryStore()
        var config = testDispatcherConfig(root: dir, workers: 2)
        config.retry = RetryPolicy(base: 0.01, cap: 0.02, maxAttempts: 2)
        let policy = try FetchPolicy(apiBase: "http://127.0.0.1:9", gcsBase: "http://127.0.0.1:9", fetchHosts: [])
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics(), fetcher: fetcher, policy: policy,
                           fetchConfig: FetchStageConfig(resultsRoot: dir + "/results"))
        let body = #"{"type":"\#(type)","data":\#(data)}"#
        #expect(admitSync(store, "m1", type: type, body: body) == .accepted)
        d.start()
        for _ in 0..<500 {
            if let s = store.info("m1")?.state, !s.isUnfinished { break }
            usleep(10_000)
        }
        d.drain(grace: 2)
        return (store.info("m1"), dir)
    }

    @Test func theFunctionGetsTheDownloadedResultAndItIsDeletedAfter() throws {
        let fetcher = MemoryFetcher()
        fetcher.script("files/out1", [.bytes(Array("{\"key\":\"a\"}\n".utf8), contentType: "application/jsonl")])
        let launcher = RecordingLauncher()
        let (info, dir) = try run(type: "batch.succeeded", data: #"{"id":"batches/b","output_file_uri":"files/out1"}"#,
                                  fetcher: fetcher, launcher: launcher)
        defer { FileSystem.removeTree(dir) }
        #expect(info?.state == .done && info?.attempt == 1)
        let result = launcher.stdins.first?["result"]
        #expect(result?["uri"]?.stringValue == "files/out1" && result?["bytes"]?.intValue == 12)
        #expect(result?["content_type"]?.stringValue == "application/jsonl")
        #expect(launcher.envs.first?.contains { $0.hasPrefix("HOOKHOST_RESULT_PATH=" + dir + "/results/") } == true)
        #expect(((try? DirectoryEntries.names(dir + "/results")) ?? []).isEmpty)
    }

    @Test func aFinalFetchErrorDeadLettersWithoutRunningTheFunction() throws {
        let fetcher = MemoryFetcher()  // nothing scripted: 404
        let launcher = RecordingLauncher()
        let (info, dir) = try run(type: "video.generated", data: #"{"video_uri":"files/gone"}"#, fetcher: fetcher, launcher: launcher)
        defer { FileSystem.removeTree(dir) }
        #expect(info?.state == .dead && info?.lastError?.contains("not found") == true)
        #expect(launcher.stdins.isEmpty)
    }

    @Test func aTransientFetchErrorIsRetriedAsTheNextAttempt() throws {
        let fetcher = MemoryFetcher()
        fetcher.script("files/v", [.failure(.serverError(status: 503, retryAfter: nil)), .bytes([1, 2, 3], contentType: "video/mp4")])
        let launcher = RecordingLauncher()
        let (info, dir) = try run(type: "video.generated", data: #"{"video_uri":"files/v"}"#, fetcher: fetcher, launcher: launcher)
        defer { FileSystem.removeTree(dir) }
        #expect(info?.state == .done && info?.attempt == 2)
        #expect(fetcher.calls == ["files/v", "files/v"])
        #expect(launcher.stdins.count == 1)
    }

    @Test func aFunctionRetryReusesTheResultAndFetchFalseSkipsIt() throws {
        let fetcher = MemoryFetcher()
        fetcher.script("files/w", [.bytes([9], contentType: nil)])
        let launcher = RecordingLauncher(codes: [1, 0])
        let (info, dir) = try run(type: "video.generated", data: #"{"video_uri":"files/w"}"#, fetcher: fetcher, launcher: launcher)
        defer { FileSystem.removeTree(dir) }
        #expect(info?.state == .done && info?.attempt == 2)
        #expect(fetcher.calls == ["files/w"])
        #expect(launcher.stdins.compactMap { $0["result"]?["bytes"]?.intValue } == [1, 1])

        let off = MemoryFetcher()
        let l2 = RecordingLauncher()
        let (i2, d2) = try run(type: "video.generated", data: #"{"video_uri":"files/w"}"#, fetcher: off, launcher: l2, sidecar: #"{"fetch": false}"#)
        defer { FileSystem.removeTree(d2) }
        #expect(i2?.state == .done && off.calls.isEmpty && l2.stdins.first?["result"] == .null)
    }
}

/// Records the user each function was started as (by event type).
final class UserRecordingLauncher: ProcessLauncher {
    let users = Mutex<[String: UInt32]>([:])
    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let type = spec.environment.first { $0.hasPrefix("HOOKHOST_EVENT_TYPE=") }.map { String($0.dropFirst(20)) } ?? "?"
        users.withLock { $0[type] = spec.user?.uid ?? UInt32.max }
        return ProcessResult(termination: .exited(0), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
    }
}

@Suite struct DispatcherFunctionUIDTests {
    @Test func eachFunctionStartsAsItsOwnUidAndOneWithoutAFreeUidDoesNotRun() throws {
        let dir = makeTempDir("duids")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        for name in ["a", "b", "c"] { writeNoopFunction(dir + "/fn", name) }
        let store = MemoryDeliveryStore()
        var config = testDispatcherConfig(root: dir, workers: 2)
        config.retry = RetryPolicy(base: 0.01, cap: 0.02, maxAttempts: 1)
        // Two ids, both given out at start to a and b: c has none.
        let identities = FunctionIdentities(range: FunctionUIDRange(first: 7, last: 8), names: ["a", "b"])
        config.functionIdentities = identities
        let launcher = UserRecordingLauncher()
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics())
        for name in ["a", "b", "c"] {
            #expect(admitSync(store, "m-" + name, type: name, body: #"{"type":"\#(name)"}"#) == .accepted)
        }
        d.start()
        for _ in 0..<500 where !store.list().allSatisfy({ !$0.state.isUnfinished }) { usleep(10_000) }
        d.drain(grace: 2)
        let users = launcher.users.withLock { $0 }
        #expect(users == ["a": identities.assigned["a"]!, "b": identities.assigned["b"]!])
        #expect(Set(users.values) == [7, 8])
        let c = store.info("m-c")
        #expect(c?.state == .dead)
        #expect(c?.lastError?.contains("no free uid in HOOKHOST_FUNCTION_UIDS") == true)
    }
}
