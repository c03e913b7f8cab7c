import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Settings of result downloads.
public struct FetchStageConfig: Sendable {
    /// Downloads at once (`HOOKHOST_FETCHERS`), separate from the function workers.
    public var fetchers = 4
    /// Parent of the per-delivery result directories.
    public var resultsRoot: String
    /// Seconds a result stays after its delivery finished (`HOOKHOST_KEEP_RESULTS`; 0: deleted at once).
    public var keepResults: Double = 0
    /// The user functions run as: result files are handed to it (nil: the host's own).
    public var owner: FunctionUser?
    /// A uid per function (`HOOKHOST_FUNCTION_UIDS`): a result belongs to the function it is for.
    public var identities: FunctionIdentities?
    public init(resultsRoot: String) { self.resultsRoot = resultsRoot }
}

/// Downloads results before functions run (CONTRACT §5), on threads of its own, so a slow
/// download never holds a worker and a function never waits behind another event's download.
/// A download is the first step of an attempt: it counts as one when it fails transiently, and
/// a final failure (404, a host not allowed) dead-letters with the reason. A full disk is the
/// host's shortage, not the delivery's: re-queued with backoff, no attempt spent. It is also the
/// first step of the run for flow control: a delivery downloads once it holds its slot
/// (`max_concurrency`, concurrency key, rate), and keeps the slot through the download.
final class FetchStage: Sendable {
    /// Deliveries waiting for a free downloader are parked under this key.
    static let parkKey = "\u{0}fetch"

    private let store: any DeliveryStorage
    /// Deliveries waiting for a free downloader wait here (see `parkKey`).
    private let workQueue: WorkQueue
    private let fetcher: any Fetcher
    private let policy: FetchPolicy
    let config: FetchStageConfig
    private let retry: RetryPolicy
    /// First delay after a download refused for lack of disk; doubles while the shortage lasts.
    private let shortageRetryDelay: Double
    /// Downloads refused in a row for lack of disk (reset by one that succeeds): the backoff.
    private let shortageStreak = Atomic<Int>(0)
    /// A full disk refuses every download with a result: one log line per interval, not per delivery.
    private let shortageLog = Mutex(RateLimitedLog(interval: 10))
    private let logger: Logger
    private let metrics: Metrics
    /// `hookhost_fetches_total` by `FetchOutcome`.
    private let outcomes: IndexedCounter
    private let clock: any WallClock
    private let random: @Sendable () -> Double
    private let busy = Mutex<Int>(0)
    private let queue = Monitor()
    private let pending = Mutex<(jobs: [(Job, ResolvedFunction)], stopping: Bool)>(([], false))
    private let threads = Mutex<[ThreadHandle]>([])
    /// Deletes kept results once their time is up (only when results are kept).
    private let janitor = Mutex<BackgroundLoop?>(nil)
    /// Told how each download ended (with the result or not): the delivery's flow slot waits for it.
    private let ended: @Sendable (_ id: String, _ fetched: Bool) -> Void

    init(store: any DeliveryStorage, queue: WorkQueue, fetcher: any Fetcher, policy: FetchPolicy, config: FetchStageConfig, retry: RetryPolicy,
         shortageRetryDelay: Double = 1, logger: Logger, metrics: Metrics, clock: any WallClock,
         random: @escaping @Sendable () -> Double, ended: @escaping @Sendable (String, Bool) -> Void = { _, _ in }) {
        self.store = store
        self.ended = ended
        self.workQueue = queue
        self.fetcher = fetcher
        self.policy = policy
        self.config = config
        self.retry = retry
        self.shortageRetryDelay = shortageRetryDelay
        self.logger = logger
        self.metrics = metrics
        // Present from the start, so a dashboard sees 0 rather than no series until the first one.
        metrics.add(FetchStage.noSpaceMetric, labels: [], 0)
        outcomes = metrics.indexedCounter(FetchStage.outcomeMetric, label: "outcome", values: FetchOutcome.allCases.map(\.rawValue))
        self.clock = clock
        self.random = random
    }

    /// Whether `d`, about to run `f`, must download its result first: its type carries one, the
    /// sidecar does not turn fetching off, and it has none on disk yet (a retry reuses it).
    func needsFetch(_ d: DeliveryInfo, function f: ResolvedFunction) -> Bool {
        guard d.state != .fetched, f.sidecarError == nil, f.settings.fetch != false, d.head?.result != nil else {
            return false
        }
        guard let r = d.result else { return true }
        if access(r.path, F_OK) != 0 { return true }
        // Kept from an earlier life in which this function had another uid (see
        // FunctionIdentities): downloaded again, for the uid it has now.
        var st = stat()
        if let u = config.identities?.user(for: f.name), lstat(directory(for: d.id), &st) == 0, st.st_uid != u.uid { return true }
        return false
    }

    /// Takes a downloader, or false when all are busy (then park the delivery under `parkKey`).
    func tryReserve() -> Bool {
        busy.withLock { n in
            guard n < config.fetchers else { return false }
            n += 1
            return true
        }
    }

    /// Whether a downloader is free now (a `tryReserve` would succeed).
    var hasFreeDownloader: Bool { busy.withLock { $0 < config.fetchers } }

    /// Gives back a downloader taken with `tryReserve` and lets parked deliveries try again.
    func unreserve() {
        busy.withLock { $0 -= 1 }
        workQueue.release(FetchStage.parkKey)
    }

    /// Hands a delivery in `fetching` (its downloader reserved) to the download threads.
    func submit(_ job: Job, function f: ResolvedFunction) {
        pending.withLock { $0.jobs.append((job, f)) }
        queue.locked { queue.signal() }
    }

    func start() {
        // What a previous life left: partial downloads, results kept past their time.
        sweep(unfinished: store.list().filter { $0.state.isUnfinished }, keepFor: config.keepResults)
        for i in 0..<max(1, config.fetchers) {
            let t = startThread(name: "fetch-\(i)", nice: 5) { [self] in
                while let (job, f) = next() {
                    download(job, function: f)
                    unreserve()
                }
            }
            threads.withLock { $0.append(t) }
        }
        guard config.keepResults > 0 else { return }
        // Kept results expire: look once a minute (or at the keep time, if shorter).
        let keep = config.keepResults
        let janitor = BackgroundLoop(name: "fetch-janitor", nice: 5, every: { FetchStage.janitorInterval(keep: keep) }) { [self] _ in
            sweep(unfinished: store.list().filter { $0.state.isUnfinished }, keepFor: keep)
        }
        self.janitor.withLock { $0 = janitor }
        janitor.start()
    }

    /// Seconds between two looks for expired results: the keep time, from 1 s to a minute.
    /// `HOOKHOST_KEEP_RESULTS` may be any positive number, and 1e-300 made the janitor list the
    /// results directory without pause (a core at 100 %).
    static func janitorInterval(keep: Double) -> Double { max(1, min(60, keep)) }

    /// Stops taking downloads and waits (until `deadline`) for those under way; one still running
    /// then leaves its delivery `fetching`, which the next start treats as interrupted.
    func stop(until deadline: Double) {
        pending.withLock { $0.stopping = true }
        queue.locked { queue.broadcast() }
        janitor.withLock { $0 }?.stop()
        for t in threads.withLock({ $0 }) { _ = t.join(until: deadline) }
    }

    private func next() -> (Job, ResolvedFunction)? {
        queue.locked {
            while true {
                let (item, stop) = pending.withLock { p -> ((Job, ResolvedFunction)?, Bool) in
                    (p.jobs.isEmpty ? nil : p.jobs.removeFirst(), p.stopping)
                }
                if let item { return item }
                if stop { return nil }
                queue.wait(seconds: 1)
            }
        }
    }

    /// The directory a delivery's result goes to: the id is hashed (ids may hold `/` or `..`).
    func directory(for id: String) -> String {
        config.resultsRoot + "/" + Invocation.directoryName(for: id)
    }

    private func download(_ job: Job, function f: ResolvedFunction) {
        let started = monotonicNow()
        guard let reference = job.head.result else {
            // Nothing to download after all (a succeeded batch without a file or an id): the
            // function runs without a result, in this attempt.
            record(job, StateChange(id: job.id, state: .fetched, attempt: job.attempt, at: clock.now()))
            return
        }
        let dir = directory(for: job.id)
        do throws(FetchError) {
            let request = try policy.request(for: reference)
            FileSystem.removeTree(dir)  // what an interrupted earlier attempt left
            _ = FileSystem.makeDirectories(dir)
            let result = try fetcher.fetch(request, into: dir)
            if let u = config.identities?.user(for: f.name) ?? config.owner {
                try ResultHandover.handOver(directory: dir, fileName: request.fileName, uid: u.uid, gid: u.gid)
            }
            shortageStreak.store(0, ordering: .relaxed)
            metrics.add("hookhost_fetch_bytes_total", labels: [], Double(result.bytes))
            counted(.ok, since: started)
            var change = StateChange(id: job.id, state: .fetched, attempt: job.attempt, at: clock.now())
            change.result = result
            change.result?.fetchMs = Int((monotonicNow() - started) * 1000)
            record(job, change)
            logger.info("fetched", ["id": .string(job.id), "type": .string(job.type), "attempt": .int(job.attempt),
                                    "function": .string(f.name), "uri": .string(FetchError.shown(result.uri)),
                                    "bytes": .int(result.bytes), "ms": .int(Int((monotonicNow() - started) * 1000))])
        } catch where error.isHostShortage {
            FileSystem.removeTree(dir)
            counted(.noSpace, since: started)
            requeueAfterShortage(job, f, error)
        } catch {
            FileSystem.removeTree(dir)
            counted(error.isFinal ? .final : .failed, since: started)
            let now = clock.now()
            var change = StateChange(id: job.id, state: .dead, attempt: job.attempt, at: now, error: "result download: \(error.reason)",
                                     function: f.name)
            if !error.isFinal {
                let (state, nextAt) = retry.next(outcome: .failed, attemptsInBudget: job.attemptsInBudget,
                                                 maxAttempts: f.settings.maxAttempts, now: now, unit: random())
                change.state = state
                change.nextAt = nextAt.map { max($0, now + (error.retryAfter ?? 0)) }
                if state == .dead { change.error! += "; no attempts left" }
            }
            record(job, change)
            metrics.run(function: f.name, outcome: change.state == .dead ? .dead : .failed, seconds: nil)
            if change.state == .dead { metrics.deadLetter(function: f.name) }
            let fields: KeyValuePairs<String, LogValue> = ["id": .string(job.id), "type": .string(job.type), "attempt": .int(job.attempt),
                                                           "function": .string(f.name), "error": .string(change.error ?? "")]
            if change.state == .dead { logger.warn("dead", fields) } else { logger.info("retry_scheduled", fields) }
        }
    }

    /// Counts downloads put off for lack of disk (docs/reference.md, "Metrics").
    static let noSpaceMetric = "hookhost_fetch_no_space_total"
    /// Download durations, and downloads by outcome (docs/reference.md, "Metrics").
    static let durationMetric = "hookhost_fetch_seconds"
    static let outcomeMetric = "hookhost_fetches_total"

    /// How a download ended, as `hookhost_fetches_total{outcome}` counts it.
    enum FetchOutcome: String, CaseIterable {
        case ok
        /// Failed transiently (a timeout, a 5xx): the attempt is spent and retried while any are left.
        case failed
        /// Failed for good (a 404, a host not allowed): a dead letter at once.
        case final
        /// Put off for lack of disk: re-queued, no attempt spent.
        case noSpace = "no_space"
    }

    private func counted(_ outcome: FetchOutcome, since started: Double) {
        outcomes.add(outcome.rawValue)
        metrics.observe(FetchStage.durationMetric, labels: [], monotonicNow() - started)
    }

    /// The disk is too full for the result: not the delivery's fault, so it goes back to the queue
    /// with backoff (from `shortageRetryDelay`, doubling while the shortage lasts, up to the retry
    /// cap) and the attempt it started is given back, as for a function the host could not start.
    private func requeueAfterShortage(_ job: Job, _ f: ResolvedFunction, _ error: FetchError) {
        let streak = shortageStreak.add(1, ordering: .relaxed).newValue
        let delay = retry.shortageDelay(streak: streak, first: shortageRetryDelay, unit: random())
        let now = clock.now()
        let why = "result download: \(error.reason); re-queued without spending an attempt"
        record(job, StateChange(id: job.id, state: .retryScheduled, attempt: job.attempt - 1, at: now, nextAt: now + delay,
                                error: why, function: f.name))
        metrics.add(FetchStage.noSpaceMetric, labels: [])
        guard let suppressed = shortageLog.withLock({ $0.shouldLog(now: monotonicNow()) }) else { return }
        logger.warn("result download put off: disk full", ["id": .string(job.id), "type": .string(job.type), "function": .string(f.name),
                                                           "error": .string(why), "in_s": .double(delay),
                                                           "put_off_since_last_line": .int(suppressed)])
    }

    private func record(_ job: Job, _ change: StateChange) {
        var change = change
        change.attemptBase = job.attemptBase
        change.retryLaterSince = job.retryLaterSince
        store.finish(change)
        ended(job.id, change.state == .fetched)
    }
}
