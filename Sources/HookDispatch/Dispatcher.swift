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
    let spool: any DeliveryStorage
    /// Due deliveries, fed by the store: the workers take from it, and a delivery waiting for a
    /// downloader waits in it.
    let queue: WorkQueue
    let table: FunctionTable
    /// The table's answers, remembered until the directory changes (workers resolve every delivery).
    let functions: FunctionResolver
    let launcher: any ProcessLauncher
    let config: DispatcherConfig
    let logger: Logger
    let metrics: Metrics
    let clock: any WallClock
    let random: @Sendable () -> Double
    /// Concurrency slots, rate windows, and the deliveries waiting for them (`Dispatcher+Flow`).
    let flow: FlowControl
    let activeRuns = ActiveRuns()
    private let busyWorkers = Atomic<Int>(0)
    private let liveWorkers = Atomic<Int>(0)
    let stopSpawning = Atomic<Bool>(false)
    /// Cleared when the drain begins: a delivery handed over with a freed slot is not started.
    let taking = Atomic<Bool>(true)
    /// Joined by `drain`.
    let workerThreads = Mutex<[ThreadHandle]>([])
    /// Spawns refused in a row for lack of resources (reset by a successful start): the backoff.
    let shortageStreak = Atomic<Int>(0)
    /// Result downloads; nil when fetching is off (no fetcher configured).
    let fetch: FetchStage?
    /// When `unblockWaiting` last ran (`monotonicNow()`, as the flow table's times).
    let lastUnblock = Mutex<Double>(0)
    /// Every function in the directory, for series that exist at zero.
    let series: FunctionSeries
    /// Event types counted in `hookhost_emitted_total` so far (bounded: see `countEmitted`).
    let emittedTypes = Mutex<Set<String>>([])
    static let maxEmittedTypeSeries = 200

    /// Paused functions: their deliveries wait in `queue` under `pauseKey` until resumed.
    let pauses: FunctionPauses
    /// Held shared from the last look at `pauses` to the start of a run or download, and once
    /// exclusively by `pause`: when `pause` returns, no run of the function is about to start.
    let startGate = ReadWriteLock()
    /// Which deliveries may start while a drain hands the others over (`DrainStartGate.swift`).
    let drainGate = DrainStartGate()

    /// What a worker does with a due delivery.
    enum Claim: Sendable {
        case run(ResolvedFunction)
        /// No function; `notExecutable` names candidates that exist without +x.
        case skip(notExecutable: [String])
        /// Routes tie (`functions`, sorted): the attempt fails saying `why`.
        case conflict(functions: [String], why: String)
        case invalid
        /// A concurrency or rate limit holds it back: it waits in the flow table, and a slot
        /// granted to it brings it back.
        case waiting
    }

    /// `fetcher`/`policy`/`fetchConfig`: result downloads (CONTRACT §5); without them functions
    /// get `result: null`.
    public init(spool: any DeliveryStorage, table: FunctionTable, launcher: any ProcessLauncher = PosixProcessLauncher(), config: DispatcherConfig,
                logger: Logger, metrics: Metrics, clock: any WallClock = SystemClock(),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                fetcher: (any Fetcher)? = nil, policy: FetchPolicy? = nil, fetchConfig: FetchStageConfig? = nil,
                pauses: FunctionPauses = FunctionPauses()) {
        let queue = WorkQueue(clock: clock)
        self.queue = queue
        let flow = FlowControl()
        self.flow = flow
        if let fetcher, let policy, let fetchConfig {
            // A download holds its delivery's flow slot: a failed one gives it back.
            let ended: @Sendable (String, Bool) -> Void = { id, fetched in
                for next in flow.withLock({ $0.fetchEnded(id, fetched: fetched, now: monotonicNow()) }).granted { queue.requeue(next) }
            }
            fetch = FetchStage(store: spool, queue: queue, fetcher: fetcher, policy: policy, config: fetchConfig, retry: config.retry,
                               shortageRetryDelay: config.shortageRetryDelay,
                               logger: logger, metrics: metrics, clock: clock, random: random, ended: ended)
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
        let series = FunctionSeries(table: table, metrics: metrics)
        series.refresh()
        metrics.beforeRender { series.refresh() }
        self.series = series
        self.clock = clock
        self.random = random
        self.pauses = pauses
        registerWaitingGauge()
        watchPauses()
        spool.feed(into: queue)
        spool.watchDeadLetters(DeadLetterEvents(functions: functions, logger: logger))
    }

    /// Starts the worker threads (and the download threads).
    public func start() {
        if let fetch {
            fetch.start()
        }
        startFlowWatch()
        offerBacklog()
        for i in 0..<max(1, config.workers) {
            liveWorkers.add(1, ordering: .relaxed)
            let thread = startThread(name: "worker-\(i)", nice: config.nice) { [self] in
                queue.joinWorkers()
                // Waiting deliveries granted the slot this worker's run gave back: this worker is
                // free for them now (others granted a slot go through the due queue).
                var handedOver: [String] = []
                while let due = next(&handedOver) {
                    let claim = claim(due, handedOver: &handedOver)
                    if case .waiting = claim { continue }
                    // The download is the first step of the run: it takes the slot just claimed.
                    if case .run(let f) = claim, handOffToFetch(due, function: f, handedOver: &handedOver) { continue }
                    // A delivery that will only be skipped needs no `running` record and no body,
                    // and takes so little time that nothing else waits for another worker.
                    guard claim.runs else {
                        if let started = startGate.reading({ drainGate.mayStart(due.id) ? spool.start(due.id, forRun: false) : nil }) {
                            process(Job(started), claim)
                        }
                        continue
                    }
                    queue.busy {
                        // Nil: paused since `claim` (and parked), purged meanwhile, or its body is
                        // unreadable (dead-lettered).
                        if case .run(let f) = claim, let started = startUnlessPaused(due.id, function: f.name, { spool.start(due.id, forRun: true) }) {
                            process(Job(started), claim)
                        }
                    }
                    handedOver += giveBack(due.id)
                }
                liveWorkers.subtract(1, ordering: .relaxed)
            }
            workerThreads.withLock { $0.append(thread) }
        }
    }

    /// Before any worker runs, every delivery due at the start (the backlog found after a
    /// restart) is offered to the flow table, so its keys take turns from the first grant on.
    /// Claimed one by one by running workers instead, a worker walking 1 000 deliveries of one
    /// key gave each slot freed meanwhile to that key again, before it had seen another key's
    /// first. Those that may run at once keep their slot as a grant and are due again; the rest
    /// wait in the table (or under a pause). Bounded by what was due when it began.
    func offerBacklog() {
        var ready: [String] = []
        for _ in 0..<queue.dueCount {
            guard let id = queue.takeDue() else { break }
            guard let d = spool.info(id), d.isDue(now: clock.now()) else { continue }
            var handedOver: [String] = []
            switch claim(d, handedOver: &handedOver) {
            case .waiting: break
            case .run: flow.withLock { $0.hold(id) }; ready.append(id)
            default: ready.append(id)
            }
            ready += handedOver
        }
        for id in ready { queue.requeue(id) }
    }

    /// A delivery that claimed its slot and must download its result first goes to the fetch
    /// stage with the slot (or is parked, the slot kept for it, until a downloader frees); true
    /// when it was taken care of that way.
    private func handOffToFetch(_ d: DeliveryInfo, function f: ResolvedFunction, handedOver: inout [String]) -> Bool {
        guard let fetch, fetch.needsFetch(d, function: f) else { return false }
        guard fetch.tryReserve() else {
            flow.withLock { $0.hold(d.id) }
            // A download may end (and release) between `tryReserve` and this park.
            queue.park(d.id, under: FetchStage.parkKey, unlessFreed: { fetch.hasFreeDownloader })
            return true
        }
        flow.withLock { $0.fetching(d.id) }
        // Waits for the fetching record to be durable: long enough that others should not wait.
        guard let started = queue.busy({ startUnlessPaused(d.id, function: f.name) { spool.startFetch(d.id) } }) else {
            fetch.unreserve()  // paused (and parked), purged meanwhile, or its body is unreadable (dead-lettered)
            handedOver += giveBack(d.id)
            return true
        }
        fetch.submit(Job(started), function: f)
        return true
    }

    /// Functions running right now.
    public var running: Int { busyWorkers.load(ordering: .relaxed) }

    /// Deliveries waiting for `function` (a slot, their key, the rate).
    func waitingForSlot(_ function: String) -> Int { flow.withLock { $0.waitingCount(function) } }

    /// The next delivery for this worker: one granted a slot this worker gave back first, then
    /// the due queue. Nil once the drain began.
    private func next(_ handedOver: inout [String]) -> DeliveryInfo? {
        while true {
            while !handedOver.isEmpty {
                let id = handedOver.removeFirst()
                // Draining: it stays unstarted on disk (the next start runs it); slots no longer matter.
                guard taking.load(ordering: .relaxed) else { handedOver = []; break }
                // Purged, replayed or run by another worker since it began waiting: the slot moves on.
                guard let d = spool.info(id), d.isDue(now: clock.now()) else {
                    handedOver += cancelGrant(id)
                    continue
                }
                return d
            }
            // Entries may be stale (purged, replayed, rescheduled meanwhile): the store decides.
            guard let id = queue.next() else { return nil }
            if let d = spool.info(id), d.isDue(now: clock.now()) { return d }
            // A slot granted to a delivery no longer due passes on (one claimed or running stays).
            handedOver += cancelGrant(id)
        }
    }

    private func process(_ job: Job, _ claim: Claim) {
        busyWorkers.add(1, ordering: .relaxed)
        defer { busyWorkers.subtract(1, ordering: .relaxed) }
        let type = job.type
        switch claim {
        case .skip, .invalid, .waiting:
            var why = claim.isInvalid ? "event type is not a plain dotted name" : "no function for \(type) (nor its family or _default)"
            var unusable: [String] = []
            if case .skip(let names) = claim { unusable = names }
            if !unusable.isEmpty {
                why += "; \(unusable.joined(separator: ", ")) exists but is not executable (chmod +x)"
                logger.warn("function file is not executable", ["type": .string(type), "files": .string(unusable.joined(separator: ","))])
            }
            // Not waiting for the disk: redoing a skip after a crash costs nothing.
            spool.finish(StateChange(id: job.id, state: .skipped, attempt: job.attempt, at: clock.now(), error: why), .lazy)
            metrics.run(function: "", outcome: .skipped, seconds: nil)
            logger.info("skipped", ["id": .string(job.id), "type": .string(type), "reason": .string(why)])
        case .conflict(let names, let why):
            failRouteConflict(job, type: type, functions: names, why: why)
        case .run(let f):
            run(job, type: type, function: f)
        }
    }
}

extension Dispatcher.Claim {
    var isInvalid: Bool { if case .invalid = self { return true }; return false }
    var runs: Bool { if case .run = self { return true }; return false }
}

