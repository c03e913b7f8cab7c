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
    /// Concurrency slots, and the deliveries waiting for one.
    private let slots = Mutex(SlotTable())
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
    /// Looks every second whether a function deliveries wait for was removed or allowed more
    /// runs at once (`unblockWaiting`); stopped by the drain.
    let slotWatch = Mutex<BackgroundLoop?>(nil)
    /// Event types counted in `hookhost_emitted_total` so far (bounded: see `countEmitted`).
    let emittedTypes = Mutex<Set<String>>([])
    static let maxEmittedTypeSeries = 200
    /// Paused functions: their deliveries wait in `queue` under `pauseKey` until resumed.
    let pauses: FunctionPauses
    /// Held shared from the last look at `pauses` to the start of a run or download, and once
    /// exclusively by `pause`: when `pause` returns, no run of the function is about to start.
    let startGate = ReadWriteLock()

    /// What a worker does with a due delivery.
    enum Claim: Sendable {
        case run(ResolvedFunction)
        /// No function; `notExecutable` names candidates that exist without +x.
        case skip(notExecutable: [String])
        /// Routes tie (`functions`, sorted): the attempt fails saying `why`.
        case conflict(functions: [String], why: String)
        case invalid
        /// The function is at its concurrency limit: the delivery waits in the slot table, and a
        /// slot given back is handed over with it. Or the function is paused: it waits in the
        /// queue until resumed.
        case waiting
    }

    /// A waiting delivery handed over together with the slot of `function` it now holds.
    struct HandOver: Sendable {
        let id: String
        let function: String
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
        if let fetcher, let policy, let fetchConfig {
            fetch = FetchStage(store: spool, queue: queue, fetcher: fetcher, policy: policy, config: fetchConfig, retry: config.retry,
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
        let series = FunctionSeries(table: table, metrics: metrics)
        series.refresh()
        metrics.beforeRender { series.refresh() }
        self.clock = clock
        self.random = random
        self.pauses = pauses
        watchPauses()
        spool.feed(into: queue)
        spool.watchDeadLetters(DeadLetterEvents(functions: functions, logger: logger))
    }

    /// Starts the worker threads (and the download threads).
    public func start() {
        if let fetch {
            fetch.start()
        }
        let watch = BackgroundLoop(name: "slot-watch", every: { 1 }) { [self] _ in unblockWaiting() }
        slotWatch.withLock { $0 = watch }
        watch.start()
        for i in 0..<max(1, config.workers) {
            liveWorkers.add(1, ordering: .relaxed)
            let thread = startThread(name: "worker-\(i)", nice: config.nice) { [self] in
                queue.joinWorkers()
                // Waiting deliveries handed to this worker with the slot its runs gave back: this
                // worker is free for them now, and a slot that travelled through the due queue
                // could be lost with a delivery purged there.
                var handedOver: [HandOver] = []
                while let (due, held) = next(&handedOver) {
                    if handOffToFetch(due) {
                        if let held { handedOver += giveBack(held) }
                        continue
                    }
                    let claim = claim(due, holding: held, handedOver: &handedOver)
                    if case .waiting = claim { continue }
                    // A delivery that will only be skipped needs no `running` record and no body,
                    // and takes so little time that nothing else waits for another worker.
                    guard claim.runs else {
                        if let started = spool.start(due.id, forRun: false) { process(Job(started), claim) }
                        continue
                    }
                    queue.busy {
                        // Nil: paused since `claim` (and parked), purged meanwhile, or its body is
                        // unreadable (dead-lettered).
                        if let started = startUnlessPaused(due.id, function: claim.function, { spool.start(due.id, forRun: true) }) {
                            process(Job(started), claim)
                        }
                    }
                    handedOver += release(claim)
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
        guard let fetch, d.state != .fetched, d.head?.result != nil else { return false }
        let type = d.type
        guard EventType.isValid(type), let f = functions.route(type: type, userMetadata: routingMetadata(d)).function,
              fetch.needsFetch(d, function: f) else { return false }
        // A download starts an attempt: a paused function's delivery waits (`claim` parks it).
        if pauses.isPaused(f.name) { return false }
        guard fetch.tryReserve() else {
            // A download may end (and release) between `tryReserve` and this park.
            queue.park(d.id, under: FetchStage.parkKey, unlessFreed: { fetch.hasFreeDownloader })
            return true
        }
        // Waits for the fetching record to be durable: long enough that others should not wait.
        guard let started = queue.busy({ startUnlessPaused(d.id, function: f.name) { spool.startFetch(d.id) } }) else {
            fetch.unreserve()  // paused (and parked), purged meanwhile, or its body is unreadable (dead-lettered)
            return true
        }
        fetch.submit(Job(started), function: f)
        return true
    }

    /// Functions running right now.
    public var running: Int { busyWorkers.load(ordering: .relaxed) }

    /// Deliveries waiting for a slot of `function`.
    func waitingForSlot(_ function: String) -> Int { slots.withLock { $0.waitingCount(function) } }

    /// The next delivery for this worker, and the slot it already holds: one handed over first,
    /// then the due queue. Nil once the drain began.
    private func next(_ handedOver: inout [HandOver]) -> (DeliveryInfo, held: String?)? {
        while !handedOver.isEmpty {
            let h = handedOver.removeFirst()
            // Draining: it stays unstarted on disk (the next start runs it); slots no longer matter.
            guard taking.load(ordering: .relaxed) else { handedOver = []; break }
            // Purged, replayed or run by another worker since it began waiting: the slot moves on.
            guard let d = spool.info(h.id), d.isDue(now: clock.now()) else {
                handedOver += giveBack(h.function)
                continue
            }
            return (d, h.function)
        }
        // Entries may be stale (purged, replayed, rescheduled meanwhile): the store decides.
        while let id = queue.next() {
            if let d = spool.info(id), d.isDue(now: clock.now()) { return (d, nil) }
        }
        return nil
    }

    /// Resolves the function and takes a concurrency slot — or keeps `held`, a slot of that
    /// function handed over with the delivery — or queues it for the next slot given back
    /// (`.waiting`). A held slot the delivery does not use (its function changed, or it is
    /// skipped) is given back, and what that hands over joins `handedOver`.
    func claim(_ d: DeliveryInfo, holding held: String?, handedOver: inout [HandOver]) -> Claim {
        let type = d.type
        let r = EventType.isValid(type) ? functions.route(type: type, userMetadata: routingMetadata(d)) : nil
        if let held, r?.function?.name != held { handedOver += giveBack(held) }
        let f: ResolvedFunction
        switch r {
        case nil: return .invalid
        case .noFunction(let notExecutable): return .skip(notExecutable: notExecutable)
        case .conflict(let names, let why): return .conflict(functions: names, why: why)
        case .run(let g, _):
            // The host's own events go to a function that takes them, never to the catch-all.
            if g.name == "_default" && DeadLetterEvents.isHostEvent(type) { return .skip(notExecutable: []) }
            f = g
        }
        // Paused: it waits holding neither a worker nor a slot, and spends no attempt.
        if pauses.isPaused(f.name) {
            if held == f.name { handedOver += giveBack(f.name) }
            parkWhilePaused(d.id, function: f.name)
            return .waiting
        }
        if held == f.name { return .run(f) }
        let limit = f.settings.maxConcurrency ?? Int.max
        return slots.withLock { $0.claim(f.name, limit: limit, for: d.id) } ? .run(f) : .waiting
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

    /// Waiting deliveries whose function was removed or had its `max_concurrency` raised since
    /// they began waiting are made due again (see `SlotTable.unblock`). A sidecar edit or a
    /// removed file otherwise took effect for them only when a running delivery of the old
    /// function ended — with a long run, minutes or hours later.
    func unblockWaiting() {
        for name in slots.withLock({ $0.waitedFor }) {
            guard taking.load(ordering: .relaxed) else { return }
            let limit: Int? = functions.function(named: name).map { $0.settings.maxConcurrency ?? Int.max }
            for id in slots.withLock({ $0.unblock(name, limit: limit) }) { queue.requeue(id) }
        }
    }

    /// Gives back a claim's concurrency slot; returns the waiting delivery it went to, if any.
    private func release(_ claim: Claim) -> [HandOver] {
        guard case .run(let f) = claim else { return [] }
        return giveBack(f.name)
    }

    /// Gives back a slot of `function`: to the delivery that waited longest (returned, for the
    /// calling worker to run), and if the limit was raised, more waiting ones become due again.
    private func giveBack(_ function: String) -> [HandOver] {
        let (handOver, due) = slots.withLock { $0.release(function) }
        for id in due { queue.requeue(id) }
        return handOver.map { [HandOver(id: $0, function: function)] } ?? []
    }
}

extension Dispatcher.Claim {
    var isInvalid: Bool { if case .invalid = self { return true }; return false }
    var runs: Bool { if case .run = self { return true }; return false }
    /// The function a run is for ("" when none runs).
    var function: String { if case .run(let f) = self { return f.name }; return "" }
}

