import Glibc
import Synchronization

/// Settings of the worker pool.
public struct DispatcherConfig: Sendable {
    public var workers = 2
    public var functionTimeout: Double = 300
    public var retry = RetryPolicy()
    /// Parent of the per-run scratch directories.
    public var workRoot: String
    /// PATH, HOME and LANG for functions.
    public var baseEnvironment: [String]
    /// Nice value of the worker threads, inherited by the functions they start: background work
    /// yields the CPU to acknowledging deliveries.
    public var nice: Int32? = 5
    /// Owner of the per-run scratch directories: the user functions run as (nil: the host's).
    public var functionUser: FunctionUser?
    /// First delay before re-running a delivery whose function could not start for lack of
    /// descriptors, processes or memory; doubles (jittered) while the shortage lasts, up to the
    /// retry cap. Such a delivery spends no attempt.
    public var shortageRetryDelay: Double = 1
    /// Seconds a delivery may keep answering exit 75 ("not ready yet") before it is
    /// dead-lettered (a sidecar's `retry_later_for` wins).
    public var retryLaterFor: Double = 86_400
    /// Host variables a sidecar's `pass_env` may hand to its function, captured once at start
    /// (never `HOOKHOST_*`: those hold the host's settings and webhook secrets).
    public var passableEnvironment: [String: String] = [:]
    public init(workRoot: String, baseEnvironment: [String]) {
        self.workRoot = workRoot
        self.baseEnvironment = baseEnvironment
    }
}

/// A delivery a worker runs: everything needed to start its function.
struct Job: Sendable {
    let id: String
    let type: String
    let receivedAt: Double
    let verifiedBy: VerifiedBy
    let jwt: JWTIdentity?
    let attempt: Int
    /// Attempts made in the current budget (this one included).
    let attemptsInBudget: Int
    /// Attempts before the current budget.
    let attemptBase: Int
    /// Since when the function keeps answering "try again later", if it does.
    let retryLaterSince: Double?
    /// The result downloaded for it (this attempt or an earlier one), if any.
    let result: FetchedResult?
    let body: [UInt8]

    init(_ started: StartedDelivery) {
        let d = started.info
        id = d.id
        type = d.type
        receivedAt = d.receivedAt
        verifiedBy = d.verifiedBy
        jwt = started.jwt
        attempt = d.attempt
        attemptsInBudget = d.attempt - d.attemptBase
        attemptBase = d.attemptBase
        retryLaterSince = d.retryLaterSince
        result = d.result
        body = started.body
    }
}

/// Runs due deliveries' functions on a fixed pool of worker threads and records each outcome.
public final class Dispatcher: Sendable {
    private let spool: any DeliveryStore
    private let table: FunctionTable
    private let launcher: any ProcessLauncher
    private let config: DispatcherConfig
    private let logger: Logger
    private let metrics: Metrics
    private let clock: any WallClock
    private let random: @Sendable () -> Double
    private let slots = Mutex<[String: Int]>([:])
    private let activeRuns = ActiveRuns()
    private let busyWorkers = Atomic<Int>(0)
    private let liveWorkers = Atomic<Int>(0)
    private let stopSpawning = Atomic<Bool>(false)
    /// Joined by `drain`.
    private let workerThreads = Mutex<[ThreadHandle]>([])
    /// Spawns refused in a row for lack of resources (reset by a successful start): the backoff.
    private let shortageStreak = Atomic<Int>(0)
    /// Result downloads; nil when fetching is off (no fetcher configured).
    private let fetch: FetchStage?

    /// What a worker does with a due delivery.
    enum Claim: Sendable {
        case run(ResolvedFunction)
        case skip
        case invalid
        /// The function is at its concurrency limit: park under its name until a slot frees.
        case wait(String)
    }

    /// `fetcher`/`policy`/`fetchConfig`: result downloads (CONTRACT §5); without them functions
    /// get `result: null`.
    public init(spool: any DeliveryStore, table: FunctionTable, launcher: any ProcessLauncher = PosixProcessLauncher(), config: DispatcherConfig,
                logger: Logger, metrics: Metrics, clock: any WallClock = SystemClock(),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                fetcher: (any Fetcher)? = nil, policy: FetchPolicy? = nil, fetchConfig: FetchStageConfig? = nil) {
        if let fetcher, let policy, let fetchConfig {
            fetch = FetchStage(store: spool, fetcher: fetcher, policy: policy, config: fetchConfig, retry: config.retry,
                               logger: logger, metrics: metrics, clock: clock, random: random)
        } else {
            fetch = nil
        }
        self.spool = spool
        self.table = table
        self.launcher = launcher
        self.config = config
        self.logger = logger
        self.metrics = metrics
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
                while let due = spool.nextDue() {
                    if handOffToFetch(due) { continue }
                    let claim = claim(due)
                    if case .wait(let name) = claim {
                        spool.park(due.id, under: name)
                        continue
                    }
                    // A delivery that will only be skipped needs no durable `running` record.
                    guard let started = spool.start(due.id, persist: claim.runs) else {
                        release(claim)  // purged meanwhile, or its body is unreadable (dead-lettered)
                        continue
                    }
                    process(Job(started), claim)
                }
                liveWorkers.subtract(1, ordering: .relaxed)
            }
            workerThreads.withLock { $0.append(thread) }
        }
    }

    /// A due delivery whose result must be downloaded first goes to the fetch stage (or is
    /// parked until a downloader frees); true when it was taken care of that way.
    private func handOffToFetch(_ d: DeliveryInfo) -> Bool {
        guard let fetch, d.state != .fetched else { return false }
        let type = EventType.canonical(d.type)
        guard EventType.isValid(type), let f = table.resolve(type), fetch.needsFetch(d, function: f) else { return false }
        guard fetch.tryReserve() else {
            spool.park(d.id, under: FetchStage.parkKey)
            return true
        }
        guard let started = spool.startFetch(d.id) else {
            fetch.unreserve()  // purged meanwhile, or its body is unreadable (dead-lettered)
            return true
        }
        fetch.submit(Job(started), function: f)
        return true
    }

    /// Functions running right now.
    public var running: Int { busyWorkers.load(ordering: .relaxed) }

    /// Stops taking work and ends running functions politely, like a timeout: SIGTERM to every
    /// running function's group at once, up to `grace` seconds for them to exit, then SIGKILL
    /// for what is left. A run that ends after the SIGTERM with anything but a deliberate answer
    /// (exit 0, 65, 75) was cut short by the shutdown: it records nothing and resumes at the next
    /// start with attempt + 1, spending no attempt. Returns once every worker has exited, so each
    /// state change a worker made is queued for the spool writer before the caller stops it.
    public func drain(grace: Double) { drain(TeardownStep.shutdown(grace: grace)) }

    /// The drain with its steps as data (tests use short waits).
    func drain(_ steps: [TeardownStep]) {
        spool.stopTaking()
        // Downloads stop being handed out at once; one under way finishes or is left `fetching`.
        fetch?.stop(until: monotonicNow())
        // From here on no new function starts: a worker that took a delivery leaves it
        // `running` on disk, so it resumes at the next start.
        stopSpawning.store(true, ordering: .relaxed)
        let workers = workerThreads.withLock { $0 }
        for step in steps {
            switch step {
            case .signal(let sig):
                // Under the ActiveRuns lock: a pid leaves the set (same lock) before it is reaped,
                // so every pid signalled here still names our function's group; a function that
                // starts after this gets the same signal as it is added.
                for (pid, id) in activeRuns.signalAll(sig) {
                    if sig == SIGKILL {
                        logger.warn("shutdown: killed function still running after the grace period", ["id": .string(id), "pid": .int(Int(pid))])
                    } else {
                        logger.info("shutdown: asked running function to stop", ["id": .string(id), "pid": .int(Int(pid)), "signal": .int(Int(sig))])
                    }
                }
            case .wait(let seconds):
                // Wait for the workers themselves, not just for running functions: a worker may
                // be between taking a delivery and starting its function. Ends early once all exited.
                let deadline = monotonicNow() + seconds
                for w in workers { w.join(until: deadline) }
            }
        }
        // A killed run returns at once (its worker records nothing, see `launch`); a worker still
        // stuck after that (a process that SIGKILL cannot end) is left behind, and said so.
        let stuckBy = monotonicNow() + Dispatcher.killedRunExitTimeout
        let stuck = workers.filter { !$0.join(until: stuckBy) }.count
        fetch?.stop(until: monotonicNow() + 1)
        if stuck > 0 { logger.error("shutdown: workers did not exit after their functions were killed", ["workers": .int(stuck)]) }
    }

    /// Whether a run that ended during the drain was cut short by it (signalled, timed out, or an
    /// exit that is not one of the contract's deliberate answers).
    static func cutShortByShutdown(_ t: ProcessResult.Termination) -> Bool {
        if case .exited(let code) = t { return ![0, 65, 75].contains(code) }
        return true
    }

    /// Seconds a worker gets to return once its function was SIGKILLed at the end of the grace period.
    static let killedRunExitTimeout: Double = 5

    /// Resolves the function and takes a concurrency slot (or says to wait for one).
    func claim(_ d: DeliveryInfo) -> Claim {
        let type = EventType.canonical(d.type)
        guard EventType.isValid(type) else { return .invalid }
        guard let f = table.resolve(type) else { return .skip }
        let limit = f.settings.maxConcurrency ?? Int.max
        let ok = slots.withLock { s -> Bool in
            guard s[f.name, default: 0] < limit else { return false }
            s[f.name, default: 0] += 1
            return true
        }
        return ok ? .run(f) : .wait(f.name)
    }

    private func process(_ job: Job, _ claim: Claim) {
        busyWorkers.add(1, ordering: .relaxed)
        defer { busyWorkers.subtract(1, ordering: .relaxed) }
        let type = EventType.canonical(job.type)
        switch claim {
        case .skip, .invalid, .wait:
            var why = claim.isInvalid ? "event type is not a plain dotted name" : "no function for \(type) (nor its family or _default)"
            let unusable = claim.isInvalid ? [] : table.notExecutable(candidatesOf: type)
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

    /// One attempt, as a pipeline: build the invocation (pure) → launch → classify (pure) →
    /// record. A run the drain killed, or one the host could not start for lack of resources,
    /// records something else instead (see `launch`).
    private func run(_ job: Job, type: String, function f: ResolvedFunction) {
        logger.info("started", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name)])
        let started = monotonicNow()
        let attempt: RunClassifier.Attempt
        if let sidecarError = f.sidecarError {
            attempt = RunClassifier.notStarted("sidecar unusable: \(sidecarError)")
        } else {
            let inv = Invocation.build(job: job, type: type, function: f, config: config, result: job.result)
            for name in inv.refusedPassEnv {
                logger.warn("pass_env: refusing a host-only variable", ["function": .string(f.name), "variable": .string(name)])
            }
            guard let a = launch(inv, job: job, type: type, function: f) else { return }
            attempt = a
        }
        record(job, type, f, attempt, seconds: monotonicNow() - started)
    }

    /// Starts the invocation and waits for it. Nil when nothing is to be recorded for this
    /// attempt: shutting down, or re-queued after a resource shortage.
    private func launch(_ inv: Invocation, job: Job, type: String, function f: ResolvedFunction) -> RunClassifier.Attempt? {
        _ = FileSystem.makeDirectories(inv.workDir)
        if let u = config.functionUser { chown(inv.workDir, u.uid, u.gid) }
        defer { FileSystem.removeTree(inv.workDir) }
        var spec = ProcessSpec(executable: inv.executable, environment: inv.environment, workingDirectory: inv.workDir,
                               stdin: inv.stdin, timeout: inv.timeout)
        let runs = activeRuns
        spec.onStart = { pid in runs.add(pid, job.id) }
        spec.onExit = { pid in runs.remove(pid) }
        spec.delivery = job.id
        if stopSpawning.load(ordering: .relaxed) {
            // Shutting down past the grace period: leave it `running`; the next start reruns it.
            logger.info("not started: shutting down", ["id": .string(job.id), "function": .string(f.name)])
            return nil
        }
        do {
            let r = try launcher.run(spec)
            shortageStreak.store(0, ordering: .relaxed)
            if stopSpawning.load(ordering: .relaxed), Dispatcher.cutShortByShutdown(r.termination) {
                // Stopped by the drain, not by its own fault: the delivery stays `running` on
                // disk and resumes at the next start (attempt + 1), spending no attempt here.
                logger.info("interrupted by shutdown; resumes at the next start", ["id": .string(job.id), "function": .string(f.name)])
                return nil
            }
            return RunClassifier.classify(r, timeout: inv.timeout)
        } catch where error.isResourceShortage {
            requeueAfterShortage(job, type, f, error)
            return nil
        } catch {
            logger.error("cannot start function", ["id": .string(job.id), "function": .string(f.name), "error": .string(error.description)])
            return RunClassifier.notStarted(error.description)
        }
    }

    /// Variables never handed to a function by name: the host's settings and webhook secrets.
    static func isHostOnly(_ name: String) -> Bool { Invocation.isHostOnly(name) }

    /// The host is short of descriptors, processes or memory: not the delivery's fault, so it
    /// goes back to the queue with backoff and the same attempt number (the attempt never ran).
    private func requeueAfterShortage(_ job: Job, _ type: String, _ f: ResolvedFunction, _ error: SpawnError) {
        let streak = shortageStreak.add(1, ordering: .relaxed).newValue
        let ceiling = min(config.retry.cap, config.shortageRetryDelay * Double(1 << min(streak - 1, 20)))
        let delay = ceiling * (0.5 + 0.5 * random())
        let now = clock.now()
        let why = "\(error.description); re-queued without spending an attempt"
        spool.finish(StateChange(id: job.id, state: .retryScheduled, attempt: job.attempt - 1, at: now, nextAt: now + delay,
                                 error: why, function: f.name))
        logger.warn("cannot start function: host short of resources", ["id": .string(job.id), "type": .string(type), "function": .string(f.name),
                                                                       "error": .string(why), "in_s": .double(delay)])
    }

    private func record(_ job: Job, _ type: String, _ f: ResolvedFunction, _ a: RunClassifier.Attempt, seconds: Double) {
        let now = clock.now()
        let change = RunClassifier.change(for: job, function: f, attempt: a, retry: config.retry, retryLaterFor: config.retryLaterFor,
                                          now: now, seconds: seconds, unit: random())
        spool.finish(change)
        if !change.state.isUnfinished, job.result != nil { fetch?.discard(job.id) }
        metrics.run(function: f.name, outcome: a.outcome, seconds: seconds)
        logger.info("finished", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name),
                                 "outcome": .string(a.outcome.rawValue), "ms": .int(Int(seconds * 1000)),
                                 "stderr": .string(String(a.stderrTail.suffix(1024)))])
        if let head = a.stdoutHead {
            logger.warn("stdout is not a JSON object; not stored as the output (its first bytes are kept with the run)",
                        ["id": .string(job.id), "function": .string(f.name), "stdout_head": .string(head)])
        }
        switch change.state {
        case .retryScheduled:
            logger.info("retry_scheduled", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name),
                                            "in_s": .double((change.nextAt ?? now) - now), "error": .string(change.error ?? "")])
        case .dead:
            metrics.add("hookhost_dead_letters_total", labels: [("function", f.name)])
            logger.warn("dead", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name),
                                 "error": .string(change.error ?? "")])
        default: break
        }
    }
}

extension Dispatcher.Claim {
    var isInvalid: Bool { if case .invalid = self { return true }; return false }
    var runs: Bool { if case .run = self { return true }; return false }
}

/// Functions running now, by pid, so shutdown can signal them. Remembers the last signal sent
/// to all, so a function that starts after it (its worker took the delivery just before the
/// drain) gets it too instead of running on until the SIGKILL.
final class ActiveRuns: Sendable {
    private let state = Mutex<(runs: [Int32: String], signalled: Int32?)>(([:], nil))
    func add(_ pid: Int32, _ id: String) {
        state.withLock { s in
            s.runs[pid] = id
            if let sig = s.signalled { killpg(pid, sig) }
        }
    }
    func remove(_ pid: Int32) { state.withLock { _ = $0.runs.removeValue(forKey: pid) } }
    func snapshot() -> [Int32: String] { state.withLock { $0.runs } }
    /// Signals every group still listed, under the lock `remove` takes before a leader is reaped.
    func signalAll(_ signal: Int32) -> [Int32: String] {
        state.withLock { s in
            s.signalled = signal
            for pid in s.runs.keys { killpg(pid, signal) }
            return s.runs
        }
    }
}
