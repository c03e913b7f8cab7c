import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

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

    @Test func aShortageBetweenNotReadyAnswersKeepsWhenNotReadyBegan() throws {
        // exit 75, then a spawn refused for want of descriptors, then a run: the refusal is no
        // answer of the function, so the third start still knows when "not ready" began.
        let dir = makeTempDir("disp")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/_default", "#!/bin/sh\n", mode: 0o755)
        let spool = MemoryDeliveryStore()
        let launcher = ScriptedLauncher([.exit(75), .refuse(EMFILE), .exit(0)]) { spool.info("m1")?.retryLaterSince }
        var config = testDispatcherConfig(root: dir, workers: 1)
        config.retry = RetryPolicy(base: 0.01, cap: 0.05, maxAttempts: 1)
        config.shortageRetryDelay = 0.01
        let d = Dispatcher(spool: spool, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics())
        #expect(admitSync(spool, "m1") == .accepted)
        d.start()
        #expect(eventually { spool.info("m1")?.state == .done })
        d.drain(grace: 2)
        let seen = launcher.seen
        #expect(seen.count == 3 && seen[0] == nil && seen[1] != nil && seen[2] == seen[1], "\(seen)")
    }

    @Test(arguments: [ENOENT, EACCES])
    func otherSpawnErrorsAreFailedAttempts(_ code: Int32) throws {
        let launcher = RefusingLauncher(failing: [code])
        let info = try runOne(launcher)
        #expect(info?.state == .dead)
        #expect(launcher.attempts.withLock { $0 } == ["1"])
    }
}

/// Answers each start with the next step of a script (the last one repeats), noting what
/// `probe` says at each start.
final class ScriptedLauncher: ProcessLauncher {
    enum Step: Sendable { case exit(Int32), refuse(Int32) }
    private let steps: Mutex<[Step]>
    private let probe: @Sendable () -> Double?
    private let seenAtStart = Mutex<[Double?]>([])

    init(_ steps: [Step], probe: @escaping @Sendable () -> Double?) {
        self.steps = Mutex(steps)
        self.probe = probe
    }

    var seen: [Double?] { seenAtStart.withLock { $0 } }

    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let value = probe()
        seenAtStart.withLock { $0.append(value) }
        let step = steps.withLock { s in s.count > 1 ? s.removeFirst() : s[0] }
        switch step {
        case .refuse(let e): throw SpawnError(executable: spec.executable, code: e)
        case .exit(let code):
            return ProcessResult(termination: .exited(code), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
        }
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

/// Holds the run of `first` until `letGo()`; every other run ends at once.
final class GateLauncher: ProcessLauncher {
    let first: String
    private let state = Mutex<(started: [String], go: Bool)>(([], false))
    init(first: String) { self.first = first }

    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let id = spec.delivery
        state.withLock { $0.started.append(id) }
        if id == first { for _ in 0..<1000 where !state.withLock({ $0.go }) { usleep(5_000) } }
        return ProcessResult(termination: .exited(0), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
    }
    func letGo() { state.withLock { $0.go = true } }
    var started: [String] { state.withLock { $0.started } }
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

    /// A worker finds the function at its `max_concurrency`; the run holding the slot ends. The
    /// delivery gets the slot whether the run ends before or after it began waiting. (It used to
    /// park in the store after a separate look at the slots, and a release between the two was
    /// lost; now waiting and giving back are one step in the dispatcher's slot table, and the
    /// store's park and release are not used for function slots at all; since the scheduler
    /// left the store, it has neither.)
    @Test func aSlotFreedWhileADeliveryWaitsGoesToIt() throws {
        let dir = makeTempDir("r5park")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "ping", sidecar: #"{"max_concurrency": 1}"#)
        let store = MemoryDeliveryStore()
        let config = testDispatcherConfig(root: dir, workers: 2)
        let launcher = GateLauncher(first: "d1")
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics())
        #expect(admitSync(store, "d1", type: "ping") == .accepted)
        d.start()
        #expect(eventually { launcher.started == ["d1"] })
        #expect(admitSync(store, "d2", type: "ping") == .accepted)
        #expect(eventually { d.waitingForSlot("ping") == 1 })
        launcher.letGo()
        #expect(eventually { store.info("d2")?.state == .done })
        d.drain(grace: 2)
        #expect(store.info("d1")?.state == .done)
    }
}

@Suite struct DispatcherWaitingTests {
    /// Issue 18 (6): 2 000 deliveries wait for a function with `max_concurrency: 2`. Each freed
    /// slot made every waiting one due again — handed out, refused, parked — so the drain cost
    /// grew with the square of the backlog. Each must be handed out once, and wait at most once.
    @Test func aFreedSlotGoesToOneWaitingDelivery() throws {
        let dir = makeTempDir("herd")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "slow", sidecar: #"{"max_concurrency": 2}"#)
        let store = MemoryDeliveryStore()
        let launcher = TimedLauncher(seconds: [:])
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: testDispatcherConfig(root: dir, workers: 4),
                           logger: quietLogger, metrics: Metrics())
        let n = 2000
        for i in 0..<n { #expect(admitSync(store, "s\(i)", type: "slow") == .accepted) }
        d.start()
        #expect(eventually(6000) { store.queueDepth == 0 })
        d.drain(grace: 2)
        #expect(store.list(state: .done).count == n)
        // Each once, offered to the flow table before the workers ran; the two granted a slot
        // then once more, to a worker.
        #expect(d.queue.handOuts == n + 2)  // it was 326 481
        #expect(launcher.peak["slow"] == 2)
    }

    /// Deliveries wait for `slow` (max_concurrency 1) while its first run is held; meanwhile one
    /// of them is purged and `change` alters the functions directory. When the run ends, the
    /// slot goes from waiting delivery to waiting delivery until every one is finished: none is
    /// left waiting for a slot that nobody will give back.
    func drainAfter(_ change: (String) -> Void, expect state: DeliveryState) throws {
        let dir = makeTempDir("slots")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "slow", sidecar: #"{"max_concurrency": 1}"#)
        let store = MemoryDeliveryStore()
        let launcher = GateLauncher(first: "w0")
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: testDispatcherConfig(root: dir, workers: 2),
                           logger: quietLogger, metrics: Metrics())
        #expect(admitSync(store, "w0", type: "slow") == .accepted)
        d.start()
        #expect(eventually { launcher.started == ["w0"] })
        for i in 1...5 { #expect(admitSync(store, "w\(i)", type: "slow") == .accepted) }
        #expect(eventually { d.waitingForSlot("slow") == 5 })
        #expect(store.forget("w1"))
        change(dir + "/fn")
        launcher.letGo()
        #expect(eventually { (2...5).allSatisfy { store.info("w\($0)")?.state == state } })
        d.drain(grace: 2)
        #expect(d.waitingForSlot("slow") == 0)
    }

    @Test func aPurgedWaitingDeliveryPassesTheSlotOn() throws {
        try drainAfter({ _ in }, expect: .done)
    }

    @Test func waitingDeliveriesWhoseFunctionIsGoneAreSkipped() throws {
        try drainAfter({ unlink($0 + "/slow"); unlink($0 + "/slow.json") }, expect: .skipped)
    }

    @Test func waitingDeliveriesRunWhenTheLimitIsLifted() throws {
        try drainAfter({ unlink($0 + "/slow.json") }, expect: .done)
    }
}

/// Deliveries routed by the functions' `on`: a tie fails the attempt naming both, and a routed
/// function (named for no type) still gets its waiting deliveries going when its limit changes.
@Suite struct DispatcherRoutingTests {
    @Test func aRouteConflictFailsTheAttemptNamingBothUntilDead() throws {
        let dir = makeTempDir("rconf")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "a", sidecar: #"{"on": "ping"}"#)
        writeNoopFunction(dir + "/fn", "b", sidecar: #"{"on": "ping"}"#)
        let store = MemoryDeliveryStore()
        let launcher = TimedLauncher(seconds: [:])
        var config = testDispatcherConfig(root: dir, workers: 1)
        config.retry = RetryPolicy(base: 0.01, cap: 0.02, maxAttempts: 2)
        let metrics = Metrics()
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: metrics)
        #expect(admitSync(store, "m1", type: "ping", body: #"{"type":"ping"}"#) == .accepted)
        d.start()
        #expect(eventually { store.info("m1")?.state == .dead })
        d.drain(grace: 2)
        let info = store.info("m1")
        #expect(info?.attempt == 2)  // each attempt spent, as a failed run's
        #expect(info?.lastError == "route conflict: a and b both match ping with 0 keys; make one more specific; no attempts left")
        #expect(info?.function == nil)
        #expect(launcher.finished.isEmpty)
        #expect(metrics.render().contains(#"hookhost_runs_total{function="",outcome="failed"} 2"#))
    }

    func waitingForRouted(_ change: (String) -> Void, expect state: DeliveryState) throws {
        let dir = makeTempDir("rslots")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "slow-one", sidecar: #"{"on": "slow", "max_concurrency": 1}"#)
        let store = MemoryDeliveryStore()
        let launcher = GateLauncher(first: "w0")
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: testDispatcherConfig(root: dir, workers: 2),
                           logger: quietLogger, metrics: Metrics())
        #expect(admitSync(store, "w0", type: "slow") == .accepted)
        d.start()
        #expect(eventually { launcher.started == ["w0"] })
        for i in 1...3 { #expect(admitSync(store, "w\(i)", type: "slow") == .accepted) }
        #expect(eventually { d.waitingForSlot("slow-one") == 3 })
        change(dir + "/fn")
        // The held run is not let go: only the slot watch can move the waiting deliveries.
        #expect(eventually { (1...3).allSatisfy { store.info("w\($0)")?.state == state } })
        launcher.letGo()
        d.drain(grace: 2)
    }

    @Test func waitingDeliveriesOfARoutedFunctionRunWhenItsLimitIsLifted() throws {
        try waitingForRouted({ writeFile($0 + "/slow-one.json", #"{"on": "slow", "max_concurrency": 4}"#) }, expect: .done)
    }

    @Test func waitingDeliveriesOfARemovedRoutedFunctionAreSkipped() throws {
        try waitingForRouted({ unlink($0 + "/slow-one"); unlink($0 + "/slow-one.json") }, expect: .skipped)
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
    func run(type: String, data: String, fetcher: any Fetcher, launcher: RecordingLauncher,
             sidecar: String? = nil, metrics: Metrics = Metrics(), owner: FunctionUser? = nil) throws -> (DeliveryInfo?, String) {
        let dir = makeTempDir("dfetch")
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/" + type, "#!/bin/sh\n", mode: 0o755)
        if let sidecar { writeFile(dir + "/fn/" + type + ".json", sidecar, mode: 0o644) }
        let store = MemoryDeliveryStore()
        var config = testDispatcherConfig(root: dir, workers: 2)
        config.retry = RetryPolicy(base: 0.01, cap: 0.02, maxAttempts: 2)
        let policy = try FetchPolicy(apiBase: "http://127.0.0.1:9", gcsBase: "http://127.0.0.1:9", fetchHosts: [])
        var fetchConfig = FetchStageConfig(resultsRoot: dir + "/results")
        fetchConfig.owner = owner
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: metrics, fetcher: fetcher, policy: policy, fetchConfig: fetchConfig)
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
        let metrics = Metrics()
        let (info, dir) = try run(type: "video.generated", data: #"{"video_uri":"files/gone"}"#, fetcher: fetcher, launcher: launcher,
                                  metrics: metrics)
        defer { FileSystem.removeTree(dir) }
        #expect(info?.state == .dead && info?.lastError?.contains("not found") == true)
        #expect(launcher.stdins.isEmpty)
        // A dead letter like any other: counted for the function it was for.
        let text = metrics.render()
        #expect(text.contains("hookhost_dead_letters_total{function=\"video.generated\"} 1\n"))
        #expect(text.contains("hookhost_fetches_total{outcome=\"final\"} 1\n"))
        #expect(text.contains("hookhost_fetch_seconds_count 1\n"))
    }

    @Test func aTransientFetchErrorIsRetriedAsTheNextAttempt() throws {
        let fetcher = MemoryFetcher()
        fetcher.script("files/v", [.failure(.serverError(status: 503, retryAfter: nil)), .bytes([1, 2, 3], contentType: "video/mp4")])
        let launcher = RecordingLauncher()
        let metrics = Metrics()
        let (info, dir) = try run(type: "video.generated", data: #"{"video_uri":"files/v"}"#, fetcher: fetcher, launcher: launcher,
                                  metrics: metrics)
        defer { FileSystem.removeTree(dir) }
        #expect(info?.state == .done && info?.attempt == 2)
        #expect(fetcher.calls == ["files/v", "files/v"])
        #expect(launcher.stdins.count == 1)
        let text = metrics.render()
        for (outcome, n) in [("ok", 1), ("failed", 1), ("final", 0), ("no_space", 0)] {
            #expect(text.contains("hookhost_fetches_total{outcome=\"\(outcome)\"} \(n)\n"), "\(outcome)")
        }
        #expect(text.contains("hookhost_fetch_seconds_count 2\n"))
        #expect(text.contains("hookhost_dead_letters_total{function=\"video.generated\"} 0\n"))
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

    @Test func aFullDiskPutsTheDownloadOffWithoutSpendingAnAttempt() throws {
        let fetcher = MemoryFetcher()
        // More refusals than the two attempts allowed: before, the third would have dead-lettered it.
        let full = FetchError.insufficientSpace(needed: 64 << 20, available: 4096)
        fetcher.script("files/big", [.failure(full), .failure(.diskFull("cannot write x: No space left on device")), .failure(full),
                                     .bytes([7, 7], contentType: nil)])
        let launcher = RecordingLauncher()
        let metrics = Metrics()
        let (info, dir) = try run(type: "video.generated", data: #"{"video_uri":"files/big"}"#, fetcher: fetcher,
                                  launcher: launcher, metrics: metrics)
        defer { FileSystem.removeTree(dir) }
        #expect(info?.state == .done && info?.attempt == 1)
        #expect(fetcher.calls.count == 4)
        #expect(launcher.envs.first?.contains("HOOKHOST_ATTEMPT=1") == true)
        #expect(metrics.render().contains("hookhost_fetch_no_space_total 3\n"))
        #expect(metrics.render().contains("hookhost_fetches_total{outcome=\"no_space\"} 3\n"))
    }

    /// A fetcher whose file is swapped for a symlink to a root-owned file before the host hands it
    /// over: what a function user owning the results directory could do between two chowns.
    final class SwappingFetcher: Fetcher {
        let inner = MemoryFetcher()
        let target: String
        init(target: String) {
            self.target = target
            inner.script("files/swap", [.bytes([1], contentType: nil)])
        }
        func fetch(_ request: FetchRequest, into directory: String) throws(FetchError) -> FetchedResult {
            let r = try inner.fetch(request, into: directory)
            unlink(r.path)
            symlink(target, r.path)
            return r
        }
    }

    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func aSymlinkSwappedInForTheResultIsNeverFollowed() throws {
        let root = makeTempDir("swap")
        defer { FileSystem.removeTree(root) }
        writeFile(root + "/precious", "root only\n", mode: 0o600)
        let launcher = RecordingLauncher()
        let nobody = FunctionUser(uid: 65534, gid: 65534, spelling: "nobody")
        let (info, dir) = try run(type: "video.generated", data: #"{"video_uri":"files/swap"}"#,
                                  fetcher: SwappingFetcher(target: root + "/precious"), launcher: launcher, owner: nobody)
        defer { FileSystem.removeTree(dir) }
        var st = stat()
        #expect(stat(root + "/precious", &st) == 0 && st.st_uid == 0, "the link's target was handed to the function user")
        #expect(info?.state == .dead && info?.lastError?.contains("symbolic link") == true, "\(String(describing: info?.lastError))")
        #expect(launcher.stdins.isEmpty)
    }

    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func theResultAndItsDirectoryBelongToTheFunctionUser() throws {
        let fetcher = MemoryFetcher()
        fetcher.script("files/mine", [.bytes([1, 2], contentType: nil)])
        // Looks at the result while the function would run: deleted after it.
        final class OwnerCheckingLauncher: ProcessLauncher {
            let seen = Mutex<[UInt32]>([])
            func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
                let path = spec.environment.first { $0.hasPrefix("HOOKHOST_RESULT_PATH=") }.map { String($0.dropFirst(21)) } ?? ""
                var f = stat(), d = stat()
                if lstat(path, &f) == 0, lstat(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]), &d) == 0 {
                    seen.withLock { $0 = [f.st_uid, d.st_uid] }
                }
                return ProcessResult(termination: .exited(0), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
            }
        }
        let launcher = OwnerCheckingLauncher()
        let store = MemoryDeliveryStore()
        let dir = makeTempDir("owner")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/video.generated", "#!/bin/sh\n", mode: 0o755)
        var fetchConfig = FetchStageConfig(resultsRoot: dir + "/results")
        fetchConfig.owner = FunctionUser(uid: 65534, gid: 65534, spelling: "nobody")
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher,
                           config: testDispatcherConfig(root: dir, workers: 1), logger: quietLogger, metrics: Metrics(), fetcher: fetcher,
                           policy: try FetchPolicy(apiBase: "http://127.0.0.1:9", gcsBase: "http://127.0.0.1:9", fetchHosts: []),
                           fetchConfig: fetchConfig)
        #expect(admitSync(store, "m1", type: "video.generated", body: #"{"type":"video.generated","data":{"video_uri":"files/mine"}}"#) == .accepted)
        d.start()
        #expect(eventually { store.info("m1")?.state == .done })
        d.drain(grace: 2)
        #expect(launcher.seen.withLock { $0 } == [65534, 65534])
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

/// Shutdown is polite and free: running functions get SIGTERM at once, SIGKILL after the grace
/// period; a run cut short records nothing (it resumes at the next start without spending an
/// attempt), a run that answers in time is recorded.
@Suite(.serialized) struct DispatcherDrainTests {
    /// Starts one delivery of a function with `script`, waits until it wrote `started`, drains
    /// with `steps`; returns the delivery's state afterwards and how long the drain took.
    func drainWhileRunning(_ script: String, _ steps: [TeardownStep]) throws -> (DeliveryInfo?, Double, String) {
        let dir = makeTempDir("drain")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/_default", "#!/bin/sh\nOUT=\(dir)\n" + script, mode: 0o755)
        let spool = MemoryDeliveryStore()
        var config = testDispatcherConfig(root: dir, workers: 1, environment: ["PATH=/usr/bin:/bin"])
        config.retry = RetryPolicy(base: 0.01, cap: 0.05, maxAttempts: 1)
        let d = Dispatcher(spool: spool, table: FunctionTable(directory: dir + "/fn"), config: config, logger: quietLogger, metrics: Metrics())
        #expect(admitSync(spool, "m1") == .accepted)
        d.start()
        // Up to 30 s for the function to start: the whole unit suite runs in parallel on 2 cores.
        for _ in 0..<3000 where access(dir + "/started", F_OK) != 0 { usleep(10_000) }
        #expect(access(dir + "/started", F_OK) == 0)
        usleep(50_000)  // past the trap's installation
        let t0 = monotonicNow()
        d.drain(steps)
        let took = monotonicNow() - t0
        let marker = (try? SmallFile.read(dir + "/term", limit: 100)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (spool.info("m1"), took, marker)
    }

    @Test func aFunctionThatFinishesOnSIGTERMIsRecordedAndTheDrainDoesNotWaitTheGrace() throws {
        let (info, took, marker) = try drainWhileRunning("""
            trap 'echo term > "$OUT/term"; echo "{\\"stopped\\":true}"; exit 0' TERM
            touch "$OUT/started"
            while :; do sleep 0.05; done
            """, TeardownStep.shutdown(grace: 5))
        #expect(marker == "term\n")
        #expect(info?.state == .done)
        #expect(took < 3, "the drain waited \(took) s for a function that had finished")
    }

    @Test func aFunctionKilledBySIGTERMSpendsNoAttempt() throws {
        // Default disposition: SIGTERM ends it. With one attempt allowed, a failed attempt would
        // be a dead letter; cut short by shutdown, it stays running and resumes at the next start.
        let (info, took, _) = try drainWhileRunning("touch \"$OUT/started\"\nsleep 30\n", TeardownStep.shutdown(grace: 5))
        #expect(info?.state == .running, "\(info?.lastError ?? "-")")
        #expect(took < 3)
    }

    @Test func aFunctionIgnoringSIGTERMIsKilledAfterTheGrace() throws {
        let (info, took, _) = try drainWhileRunning("trap '' TERM\ntouch \"$OUT/started\"\nsleep 30\n",
                                                    [.signal(SIGTERM), .wait(0.5), .signal(SIGKILL)])
        #expect(info?.state == .running)
        #expect(took >= 0.5 && took < 4, "drain took \(took) s")
    }

    @Test func cutShortMeansAnythingButADeliberateAnswer() {
        #expect(!Dispatcher.cutShortByShutdown(.exited(0)))
        #expect(!Dispatcher.cutShortByShutdown(.exited(65)))
        #expect(!Dispatcher.cutShortByShutdown(.exited(75)))
        #expect(Dispatcher.cutShortByShutdown(.exited(1)))
        #expect(Dispatcher.cutShortByShutdown(.exited(143)))
        #expect(Dispatcher.cutShortByShutdown(.signaled(SIGTERM)))
        #expect(Dispatcher.cutShortByShutdown(.timedOut))
    }
}

/// Issue 21: a paused function's deliveries are stored but none of its runs (or downloads)
/// starts until it is resumed; they wait without a worker and without spending an attempt.
@Suite struct DispatcherPauseTests {
    func dispatcher(_ dir: String, _ memory: MemoryDeliveryStore, launcher: any ProcessLauncher, pauses: FunctionPauses,
                    metrics: Metrics = Metrics(), workers: Int = 2, store: (any DeliveryStorage)? = nil) -> Dispatcher {
        Dispatcher(spool: store ?? memory, table: FunctionTable(directory: dir + "/fn"), launcher: launcher,
                   config: testDispatcherConfig(root: dir, workers: workers), logger: quietLogger, metrics: metrics, pauses: pauses)
    }

    @Test func aPausedFunctionsDeliveriesWaitWithoutAnAttemptAndRunOnceResumed() throws {
        let dir = makeTempDir("pause")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "job")
        writeNoopFunction(dir + "/fn", "other")
        let store = MemoryDeliveryStore()
        let pauses = FunctionPauses()
        try pauses.pause("job", at: 1)
        let launcher = TimedLauncher(seconds: [:])
        let metrics = Metrics()
        let d = dispatcher(dir, store, launcher: launcher, pauses: pauses, metrics: metrics)
        for i in 0..<3 { #expect(admitSync(store, "j\(i)", type: "job") == .accepted) }
        #expect(admitSync(store, "o1", type: "other") == .accepted)
        d.start()
        #expect(eventually { store.info("o1")?.state == .done })
        #expect(eventually { d.queue.parkedCount(under: Dispatcher.pauseKey("job")) == 3 })
        for i in 0..<3 { #expect(store.info("j\(i)")?.state == .received && store.info("j\(i)")?.attempt == 0) }
        #expect(launcher.finished == ["other"])
        let text = metrics.render()
        #expect(text.contains(#"hookhost_function_paused{function="job"} 1"#) && text.contains(#"hookhost_function_paused{function="other"} 0"#))
        #expect(text.contains(#"hookhost_waiting{function="job",reason="paused"} 3"#))

        try pauses.resume("job")
        #expect(eventually { store.list(state: .done).count == 4 })
        d.drain(grace: 2)
        #expect(store.list().allSatisfy { $0.attempt == 1 })
        #expect(metrics.render().contains(#"hookhost_waiting{function="job",reason="paused"} 0"#))
    }

    /// A run under way when the pause comes finishes; once `pause` returned nothing of the function
    /// starts, even a delivery a worker had already taken and looked at.
    @Test func aRunUnderWayFinishesAndNothingStartsAfterThePauseReturns() throws {
        let dir = makeTempDir("pause")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "job")
        let store = MemoryDeliveryStore()
        let pauses = FunctionPauses()
        let launcher = GateLauncher(first: "j1")
        let d = dispatcher(dir, store, launcher: launcher, pauses: pauses)
        #expect(admitSync(store, "j1", type: "job") == .accepted)
        d.start()
        #expect(eventually { launcher.started == ["j1"] })
        try pauses.pause("job", at: 1)
        for i in 2...4 { #expect(admitSync(store, "j\(i)", type: "job") == .accepted) }
        #expect(eventually { d.queue.parkedCount(under: Dispatcher.pauseKey("job")) == 3 })
        launcher.letGo()
        #expect(eventually { store.info("j1")?.state == .done })
        #expect(launcher.started == ["j1"])
        try pauses.resume("job")
        #expect(eventually { store.list(state: .done).count == 4 })
        d.drain(grace: 2)
    }

    /// A pause that comes while a worker is starting a run (past its look at the pauses) waits
    /// for that start: once `pause` returned, the run is under way and nothing else starts.
    @Test func aPauseWaitsForAStartUnderWay() throws {
        let dir = makeTempDir("pause")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "job")
        let store = StartHoldingStore(holding: "j1")
        let pauses = FunctionPauses()
        let d = dispatcher(dir, store.inner, launcher: TimedLauncher(seconds: [:]), pauses: pauses, store: store)
        #expect(admitSync(store, "j1", type: "job") == .accepted)
        d.start()
        #expect(eventually { store.entered })
        let returned = Atomic<Bool>(false)
        let pausing = startThread(name: "pausing") { _ = try? pauses.pause("job", at: 1); returned.store(true, ordering: .relaxed) }
        #expect(eventually { pauses.isPaused("job") })
        // The start is held: the pause cannot have returned (it would have, at once, without the gate).
        for _ in 0..<20 {
            usleep(10_000)
            let done = returned.load(ordering: .relaxed)
            #expect(!done)
        }
        store.release()
        pausing.join()
        #expect(store.inner.info("j1")?.state == .running || store.inner.info("j1")?.state == .done)
        #expect(admitSync(store, "j2", type: "job") == .accepted)
        #expect(eventually { d.queue.parkedCount(under: Dispatcher.pauseKey("job")) == 1 })
        #expect(eventually { store.inner.info("j1")?.state == .done } && store.inner.info("j2")?.attempt == 0)
        d.drain(grace: 2)
    }

    /// Pausing and resuming while starts go on: after each `pause` returned, no delivery turns running.
    @Test func aPauseRacingStartsNeverLetsOneThroughAfterItReturned() throws {
        let dir = makeTempDir("pause")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "job")
        let store = MemoryDeliveryStore()
        let pauses = FunctionPauses()
        let launcher = TimedLauncher(seconds: [:])
        let d = dispatcher(dir, store, launcher: launcher, pauses: pauses, workers: 4)
        d.start()
        var total = 0
        for round in 0..<20 {
            for i in 0..<20 { #expect(admitSync(store, "r\(round)-\(i)", type: "job") == .accepted) }
            total += 20
            try pauses.pause("job", at: 1)
            // Every delivery is marked running when its run starts: none may turn running now.
            let running = store.list().filter { $0.state == .running || $0.state == .done }.count
            #expect(eventually { store.list(state: .running).isEmpty })
            #expect(store.list().filter { $0.state == .running || $0.state == .done }.count == running)
            try pauses.resume("job")
        }
        #expect(eventually { store.list(state: .done).count == total })
        d.drain(grace: 2)
        #expect(store.list().allSatisfy { $0.attempt == 1 })
    }

    @Test func aPausedFunctionsResultIsNotDownloadedUntilResumed() throws {
        let dir = makeTempDir("pausefetch")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "batch.succeeded")
        let store = MemoryDeliveryStore()
        let pauses = FunctionPauses()
        try pauses.pause("batch.succeeded", at: 1)
        let fetcher = MemoryFetcher()
        fetcher.script("files/out1", [.bytes(Array("{}\n".utf8), contentType: nil)])
        let policy = try FetchPolicy(apiBase: "http://127.0.0.1:9", gcsBase: "http://127.0.0.1:9", fetchHosts: [])
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: RecordingLauncher(),
                           config: testDispatcherConfig(root: dir, workers: 2), logger: quietLogger, metrics: Metrics(),
                           fetcher: fetcher, policy: policy, fetchConfig: FetchStageConfig(resultsRoot: dir + "/results"), pauses: pauses)
        let body = #"{"type":"batch.succeeded","data":{"id":"batches/b","output_file_uri":"files/out1"}}"#
        #expect(admitSync(store, "m1", type: "batch.succeeded", body: body) == .accepted)
        d.start()
        #expect(eventually { d.queue.parkedCount(under: Dispatcher.pauseKey("batch.succeeded")) == 1 })
        #expect(fetcher.calls.isEmpty && store.info("m1")?.attempt == 0)
        try pauses.resume("batch.succeeded")
        #expect(eventually { store.info("m1")?.state == .done })
        d.drain(grace: 2)
        #expect(fetcher.calls == ["files/out1"] && store.info("m1")?.attempt == 1)
    }
}

/// A memory store whose `start` of one delivery waits until `release()`: a worker held in the
/// middle of starting a run.
final class StartHoldingStore: DeliveryStore, DeliveryQueries {
    let inner = MemoryDeliveryStore()
    private let held: String
    private let state = Mutex<(entered: Bool, released: Bool)>((false, false))

    init(holding id: String) { held = id }

    var entered: Bool { state.withLock { $0.entered } }
    func release() { state.withLock { $0.released = true } }

    func start(_ id: String, forRun: Bool) -> StartedDelivery? {
        if id == held {
            state.withLock { $0.entered = true }
            for _ in 0..<1000 where !state.withLock({ $0.released }) { usleep(5_000) }
        }
        return inner.start(id, forRun: forRun)
    }

    func admit(id: String, type: String, verifiedBy: VerifiedBy, jwt: JWTIdentity?, head: DeliveryHead, body: [UInt8],
               completion: @escaping @Sendable (AdmitResult) -> Void) {
        inner.admit(id: id, type: type, verifiedBy: verifiedBy, jwt: jwt, head: head, body: body, completion: completion)
    }
    func remembers(_ id: String) -> Bool { inner.remembers(id) }
    func feed(into feed: any DueFeed) { inner.feed(into: feed) }
    func watchDeadLetters(_ watch: any DeadLetterWatch) { inner.watchDeadLetters(watch) }
    func startFetch(_ id: String) -> StartedDelivery? { inner.startFetch(id) }
    func finish(_ change: StateChange, _ mode: FinishMode, emitting children: [ChildDelivery]) -> Bool { inner.finish(change, mode, emitting: children) }
    func replay(_ ids: [String]) throws(SpoolError) -> Int { try inner.replay(ids) }
    func forget(_ ids: [String]) throws(SpoolError) -> Int { try inner.forget(ids) }
    func info(_ id: String) -> DeliveryInfo? { inner.info(id) }
    var clock: any WallClock { inner.clock }
    var queueDepth: Int { inner.queueDepth }
    var deadCount: Int { inner.deadCount }
    var isWritable: Bool { inner.isWritable }
    func list(state: DeliveryState?, type: String?) -> [DeliveryInfo] { inner.list(state: state, type: type) }
    func unfinishedSummary() -> UnfinishedSummary { inner.unfinishedSummary() }
    func show(_ id: String) -> (info: DeliveryInfo, body: [UInt8], jwt: JWTIdentity?, last: StateChange?)? { inner.show(id) }
    func attempts(_ id: String) -> [StateChange] { inner.attempts(id) }
    func chain(root: String) -> [DeliveryInfo] { inner.chain(root: root) }
}
