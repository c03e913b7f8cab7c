import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify

/// Records when each run began (the launcher's view of a function's start) and ends it at once.
final class StartLog: ProcessLauncher {
    private let state = Mutex<[(id: String, at: Double)]>([])

    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let now = SystemClock().now()
        state.withLock { $0.append((spec.delivery, now)) }
        return ProcessResult(termination: .exited(0), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
    }

    var starts: [(id: String, at: Double)] { state.withLock { $0 } }
}

/// Flow control through the dispatcher (issue 21): concurrency keys, rate limits, and deliveries
/// that wait without a worker, a start record or an attempt.
@Suite struct DispatcherFlowTests {
    func body(_ group: String) -> String { #"{"type":"job","data":{"user_metadata":{"job_group":"\#(group)"}}}"# }

    @Test func startsStayWithinTheRateAndSpendNoAttempt() throws {
        let dir = makeTempDir("rate")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "ping", sidecar: #"{"rate": {"limit": 3, "per": 0.2}}"#)
        let store = MemoryDeliveryStore()
        let launcher = StartLog()
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher,
                           config: testDispatcherConfig(root: dir, workers: 4), logger: quietLogger, metrics: Metrics())
        for i in 0..<15 { #expect(admitSync(store, "r\(i)", type: "ping", body: #"{"type":"ping"}"#) == .accepted) }
        d.start()
        #expect(eventually(1000) { store.list(state: .done).count == 15 })
        d.drain(grace: 2)
        #expect(launcher.starts.count == 15)
        #expect(FlowTableTests.mostInAnyWindow(launcher.starts.map(\.at), per: 0.2) == 3)
        #expect(store.list().allSatisfy { $0.attempt == 1 })
    }

    @Test func aDeliveryHeldByTheRateHoldsNoWorkerAndNoStartRecord() throws {
        let dir = makeTempDir("ratewait")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "slowly", sidecar: #"{"rate": {"limit": 1, "per": 3600}}"#)
        writeNoopFunction(dir + "/fn", "other")
        let store = MemoryDeliveryStore()
        let launcher = StartLog()
        let metrics = Metrics()
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher,
                           config: testDispatcherConfig(root: dir, workers: 1), logger: quietLogger, metrics: metrics)
        for i in 0..<5 { #expect(admitSync(store, "s\(i)", type: "slowly", body: #"{"type":"slowly"}"#) == .accepted) }
        #expect(admitSync(store, "o", type: "other", body: #"{"type":"other"}"#) == .accepted)
        d.start()
        // One worker: the other function's delivery runs although four wait for the rate.
        #expect(eventually { store.info("o")?.state == .done && d.waitingForSlot("slowly") == 4 })
        #expect(store.info("s0")?.state == .done)
        for i in 1..<5 {
            let info = store.info("s\(i)")
            #expect(info?.state == .received && info?.attempt == 0)
        }
        let text = metrics.render()
        #expect(text.contains(#"hookhost_waiting{function="slowly",reason="rate"} 4"#))
        #expect(text.contains(#"hookhost_waiting{function="slowly",reason="concurrency"} 0"#))
        #expect(text.contains(#"hookhost_waiting{function="other",reason="key"} 0"#))
        d.drain(grace: 2)
    }

    /// 50 deliveries of group A, the first held, then one of group B: with one run per group, B
    /// starts while A's first still runs, and A's run one at a time, in order.
    @Test func aGroupWithABacklogDoesNotHoldAnotherGroup() throws {
        let dir = makeTempDir("keys")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "job", sidecar: #"{"max_concurrency": 2, "concurrency": {"key": "user_metadata.job_group", "limit": 1}}"#)
        let store = MemoryDeliveryStore()
        let launcher = GateLauncher(first: "a0")
        let metrics = Metrics()
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher,
                           config: testDispatcherConfig(root: dir, workers: 2), logger: quietLogger, metrics: metrics)
        #expect(admitSync(store, "a0", type: "job", body: body("A")) == .accepted)
        d.start()
        #expect(eventually { launcher.started == ["a0"] })
        for i in 1..<50 { #expect(admitSync(store, "a\(i)", type: "job", body: body("A")) == .accepted) }
        #expect(admitSync(store, "b0", type: "job", body: body("B")) == .accepted)
        #expect(eventually { launcher.started.contains("b0") && d.waitingForSlot("job") == 49 })
        #expect(launcher.started == ["a0", "b0"])
        #expect(metrics.render().contains(#"hookhost_waiting{function="job",reason="key"} 49"#))
        launcher.letGo()
        #expect(eventually { store.list(state: .done).count == 51 })
        d.drain(grace: 2)
        #expect(launcher.started.filter { $0.hasPrefix("a") } == (0..<50).map { "a\($0)" })
    }

    /// The download is the first step of a run: a delivery downloads its result only once it
    /// holds its slot, so a group's backlog of results is not fetched ahead of another group's,
    /// and a download that fails gives the slot to the next in turn.
    @Test func aResultIsDownloadedOnlyWhenItsDeliveryMayRun() throws {
        let dir = makeTempDir("flowfetch")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "batch.succeeded", sidecar: #"{"concurrency": {"key": "user_metadata.job_group", "limit": 1}}"#)
        let store = MemoryDeliveryStore()
        let fetcher = MemoryFetcher()
        for id in ["a0", "a2", "a3", "b0"] { fetcher.script("files/\(id)", [.bytes([1], contentType: nil)]) }  // a1's is gone: 404
        let launcher = GateLauncher(first: "a0")
        let policy = try FetchPolicy(apiBase: "http://127.0.0.1:9", gcsBase: "http://127.0.0.1:9", fetchHosts: [])
        let d = Dispatcher(spool: store, table: FunctionTable(directory: dir + "/fn"), launcher: launcher,
                           config: testDispatcherConfig(root: dir, workers: 2), logger: quietLogger, metrics: Metrics(),
                           fetcher: fetcher, policy: policy, fetchConfig: FetchStageConfig(resultsRoot: dir + "/results"))
        func body(_ id: String, _ group: String) -> String {
            #"{"type":"batch.succeeded","data":{"id":"batches/\#(id)","output_file_uri":"files/\#(id)","user_metadata":{"job_group":"\#(group)"}}}"#
        }
        #expect(admitSync(store, "a0", body: body("a0", "A")) == .accepted)
        d.start()
        #expect(eventually { launcher.started == ["a0"] })
        for id in ["a1", "a2", "a3"] { #expect(admitSync(store, id, body: body(id, "A")) == .accepted) }
        #expect(admitSync(store, "b0", body: body("b0", "B")) == .accepted)
        #expect(eventually { launcher.started == ["a0", "b0"] && d.waitingForSlot("batch.succeeded") == 3 })
        #expect(fetcher.calls == ["files/a0", "files/b0"])  // A's waiting results not fetched yet
        #expect(["a1", "a2", "a3"].allSatisfy { store.info($0)?.state == .received && store.info($0)?.attempt == 0 })
        launcher.letGo()
        #expect(eventually { store.info("a3")?.state == .done })
        d.drain(grace: 2)
        #expect(store.info("a1")?.state == .dead)  // its 404 gave the group's slot to a2
        #expect(launcher.started == ["a0", "b0", "a2", "a3"])
        #expect(fetcher.calls.sorted() == ["files/a0", "files/a1", "files/a2", "files/a3", "files/b0"])
    }
}
