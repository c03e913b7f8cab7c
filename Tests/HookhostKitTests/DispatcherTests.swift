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

/// A `MemoryDeliveryStore` with a hook that runs first in `park`: it opens the window between a
/// worker's "no slot" and its `park`, which a test cannot otherwise hit on demand.
final class ParkWindowStore: DeliveryStore, @unchecked Sendable {  // safe: `inner` is Sendable, the hook and log are Mutexes
    let inner = MemoryDeliveryStore()
    let beforePark = Mutex<(@Sendable (String, String) -> Void)?>(nil)
    let released = Mutex<[String]>([])

    var clock: any WallClock { inner.clock }
    func admit(id: String, type: String, verifiedBy: VerifiedBy, jwt: JWTIdentity?, body: [UInt8],
               completion: @escaping @Sendable (AdmitResult) -> Void) {
        inner.admit(id: id, type: type, verifiedBy: verifiedBy, jwt: jwt, body: body, completion: completion)
    }
    func remembers(_ id: String) -> Bool { inner.remembers(id) }
    func nextDue() -> DeliveryInfo? { inner.nextDue() }
    func joinWorkers() { inner.joinWorkers() }
    func busy<T>(_ body: () -> T) -> T { inner.busy(body) }
    func park(_ id: String, under key: String, unlessFreed freed: () -> Bool) {
        if let hook = beforePark.withLock({ $0 }) { hook(id, key) }
        inner.park(id, under: key, unlessFreed: freed)
    }
    func release(_ key: String) {
        inner.release(key)
        released.withLock { $0.append(key) }
    }
    func start(_ id: String, forRun: Bool) -> StartedDelivery? { inner.start(id, forRun: forRun) }
    func startFetch(_ id: String) -> StartedDelivery? { inner.startFetch(id) }
    @discardableResult func finish(_ change: StateChange, waitForDisk: Bool) -> Bool { inner.finish(change, waitForDisk: waitForDisk) }
    func stopTaking() { inner.stopTaking() }
    var queueDepth: Int { inner.queueDepth }
    var deadCount: Int { inner.deadCount }
    var isWritable: Bool { inner.isWritable }
    func info(_ id: String) -> DeliveryInfo? { inner.info(id) }
    func list(state: DeliveryState?, type: String?) -> [DeliveryInfo] { inner.list(state: state, type: type) }
    func unfinishedSummary() -> UnfinishedSummary { inner.unfinishedSummary() }
    func show(_ id: String) -> (info: DeliveryInfo, body: [UInt8], jwt: JWTIdentity?, last: StateChange?)? { inner.show(id) }
    func attempts(_ id: String) -> [StateChange] { inner.attempts(id) }
    func forget(_ id: String) -> Bool { inner.forget(id) }
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

    /// A worker finds the function at its `max_concurrency` and parks the delivery; if the run
    /// holding the slot ends (and releases the function's parked deliveries) between that check
    /// and the park, the release found nothing and the delivery stayed parked for good — until
    /// another delivery of the same function happened to run, or a restart.
    @Test func aSlotFreedBetweenTheCheckAndTheParkIsNotLost() throws {
        let dir = makeTempDir("r5park")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "ping", sidecar: #"{"max_concurrency": 1}"#)
        let store = ParkWindowStore()
        let config = testDispatcherConfig(root: dir, workers: 2)
        let launcher = GateLauncher(first: "d1")
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics())
        let once = Mutex(false)
        store.beforePark.withLock {
            $0 = { [store, launcher] _, key in
                guard key == "ping", !once.withLock({ let was = $0; $0 = true; return was }) else { return }
                // The run holding the slot ends now, and its release goes by before the park.
                launcher.letGo()
                _ = eventually { store.released.withLock { $0.contains("ping") } }
            }
        }
        #expect(admitSync(store, "d1", type: "ping") == .accepted)
        d.start()
        #expect(eventually { launcher.started == ["d1"] })
        #expect(admitSync(store, "d2", type: "ping") == .accepted)
        #expect(eventually { store.info("d2")?.state == .done })
        d.drain(grace: 2)
        #expect(store.info("d1")?.state == .done)
        #expect(store.info("d2")?.state == .done)
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
