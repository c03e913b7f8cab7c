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

@Suite struct Review5Tests {
    /// A worker finds the function at its `max_concurrency`; the run holding the slot ends. The
    /// delivery gets the slot whether the run ends before or after it began waiting. (It used to
    /// park in the store after a separate look at the slots, and a release between the two was
    /// lost; now waiting and giving back are one step in the dispatcher's slot table, and the
    /// store's park and release are not used for function slots at all.)
    @Test func aSlotFreedWhileADeliveryWaitsGoesToIt() throws {
        let dir = makeTempDir("r5park")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeNoopFunction(dir + "/fn", "ping", sidecar: #"{"max_concurrency": 1}"#)
        let store = ParkWindowStore()
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
        #expect(store.released.withLock { $0 }.isEmpty)
    }
}
