import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Runs due deliveries' functions on a fixed pool of worker threads and records each outcome.
public final class Dispatcher: Sendable {
    let spool: any DeliveryStore
    let table: FunctionTable
    /// The table's answers, remembered until the directory changes (workers resolve every delivery).
    let functions: FunctionResolver
    let launcher: any ProcessLauncher
    let config: DispatcherConfig
    let logger: Logger
    let metrics: Metrics
    let clock: any WallClock
    let random: @Sendable () -> Double
    private let slots = Mutex<[String: Int]>([:])
    let activeRuns = ActiveRuns()
    private let busyWorkers = Atomic<Int>(0)
    private let liveWorkers = Atomic<Int>(0)
    let stopSpawning = Atomic<Bool>(false)
    /// Joined by `drain`.
    let workerThreads = Mutex<[ThreadHandle]>([])
    /// Spawns refused in a row for lack of resources (reset by a successful start): the backoff.
    let shortageStreak = Atomic<Int>(0)
    /// Result downloads; nil when fetching is off (no fetcher configured).
    let fetch: FetchStage?

    /// What a worker does with a due delivery.
    enum Claim: Sendable {
        case run(ResolvedFunction)
        /// No function; `notExecutable` names candidates that exist without +x.
        case skip(notExecutable: [String])
        case invalid
        /// The function is at its concurrency limit: park under its name until a slot frees.
        case wait(String, limit: Int)
    }

    /// `fetcher`/`policy`/`fetchConfig`: result downloads (CONTRACT §5); without them functions
    /// get `result: null`.
    public init(spool: any DeliveryStore, table: FunctionTable, launcher: any ProcessLauncher = PosixProcessLauncher(), config: DispatcherConfig,
                logger: Logger, metrics: Metrics, clock: any WallClock = SystemClock(),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                fetcher: (any Fetcher)? = nil, policy: FetchPolicy? = nil, fetchConfig: FetchStageConfig? = nil) {
        if let fetcher, let policy, let fetchConfig {
            fetch = FetchStage(store: spool, fetcher: fetcher, policy: policy, config: fetchConfig, retry: config.retry,
                               shortageRetryDelay: config.shortageRetryDelay,
                               logger: logger, metrics: metrics, clock: clock, random: random)
        } else {
            fetch = nil
        }
        self.spool = spool
        self.table = table
        functions = FunctionResolver(table: table)
        self.launcher = launcher
        self.config = config
        self.logger = logger
        self.metrics = metrics
        metrics.describeDispatch()
        self.clock = clock
        self.random = random
    }

    /// Starts the worker threads (and the download threads).
    public func start() {
        if let fetch {
            fetch.start()
        }
        for i in 0..<max(1, config.workers) {
            liveWorkers.add(1, ordering: .relaxed)
            let thread = startThread(name: "worker-\(i)", nice: config.nice) { [self] in
                spool.joinWorkers()
                while let due = spool.nextDue() {
                    if handOffToFetch(due) { continue }
                    let claim = claim(due)
                    if case .wait(let name, let limit) = claim {
                        // The run holding the slot may end (and release) before this park.
                        spool.park(due.id, under: name, unlessFreed: { slots.withLock { $0[name, default: 0] < limit } })
                        continue
                    }
                    // A delivery that will only be skipped needs no `running` record and no body,
                    // and takes so little time that nothing else waits for another worker.
                    guard claim.runs else {
                        if let started = spool.start(due.id, forRun: false) { process(Job(started), claim) }
                        continue
                    }
                    spool.busy {
                        guard let started = spool.start(due.id, forRun: true) else {
                            return release(claim)  // purged meanwhile, or its body is unreadable (dead-lettered)
                        }
                        process(Job(started), claim)
                    }
                }
                liveWorkers.subtract(1, ordering: .relaxed)
            }
            workerThreads.withLock { $0.append(thread) }
        }
    }

    /// A due delivery whose result must be downloaded first goes to the fetch stage (or is
    /// parked until a downloader frees); true when it was taken care of that way.
    private func handOffToFetch(_ d: DeliveryInfo) -> Bool {
        // Most types carry no result: decide that before resolving the function (stat calls and
        // a sidecar read), which `claim` does again for every delivery that is not handed off.
        guard let fetch, d.state != .fetched, ResultLocator.mayCarryResult(type: d.type) else { return false }
        let type = EventType.canonical(d.type)
        guard EventType.isValid(type), let f = functions.resolve(type).function, fetch.needsFetch(d, function: f) else { return false }
        guard fetch.tryReserve() else {
            // A download may end (and release) between `tryReserve` and this park.
            spool.park(d.id, under: FetchStage.parkKey, unlessFreed: { fetch.hasFreeDownloader })
            return true
        }
        // Waits for the fetching record to be durable: long enough that others should not wait.
        guard let started = spool.busy({ spool.startFetch(d.id) }) else {
            fetch.unreserve()  // purged meanwhile, or its body is unreadable (dead-lettered)
            return true
        }
        fetch.submit(Job(started), function: f)
        return true
    }

    /// Functions running right now.
    public var running: Int { busyWorkers.load(ordering: .relaxed) }

    /// Resolves the function and takes a concurrency slot (or says to wait for one).
    func claim(_ d: DeliveryInfo) -> Claim {
        let type = EventType.canonical(d.type)
        guard EventType.isValid(type) else { return .invalid }
        let r = functions.resolve(type)
        guard let f = r.function else { return .skip(notExecutable: r.notExecutable) }
        let limit = f.settings.maxConcurrency ?? Int.max
        let ok = slots.withLock { s -> Bool in
            guard s[f.name, default: 0] < limit else { return false }
            s[f.name, default: 0] += 1
            return true
        }
        return ok ? .run(f) : .wait(f.name, limit: limit)
    }

    private func process(_ job: Job, _ claim: Claim) {
        busyWorkers.add(1, ordering: .relaxed)
        defer { busyWorkers.subtract(1, ordering: .relaxed) }
        let type = EventType.canonical(job.type)
        switch claim {
        case .skip, .invalid, .wait:
            var why = claim.isInvalid ? "event type is not a plain dotted name" : "no function for \(type) (nor its family or _default)"
            var unusable: [String] = []
            if case .skip(let names) = claim { unusable = names }
            if !unusable.isEmpty {
                why += "; \(unusable.joined(separator: ", ")) exists but is not executable (chmod +x)"
                logger.warn("function file is not executable", ["type": .string(type), "files": .string(unusable.joined(separator: ","))])
            }
            // Not waiting for the disk: redoing a skip after a crash costs nothing.
            spool.finish(StateChange(id: job.id, state: .skipped, attempt: job.attempt, at: clock.now(), error: why), waitForDisk: false)
            metrics.run(function: "", outcome: .skipped, seconds: nil)
            logger.info("skipped", ["id": .string(job.id), "type": .string(type), "reason": .string(why)])
        case .run(let f):
            defer { release(claim) }
            run(job, type: type, function: f)
        }
    }

    /// Gives back a claim's concurrency slot and lets the deliveries parked for it try again.
    private func release(_ claim: Claim) {
        guard case .run(let f) = claim else { return }
        slots.withLock { $0[f.name, default: 1] -= 1 }
        spool.release(f.name)
    }
}

extension Dispatcher.Claim {
    var isInvalid: Bool { if case .invalid = self { return true }; return false }
    var runs: Bool { if case .run = self { return true }; return false }
}

