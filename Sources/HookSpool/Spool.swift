import CSys
import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Spool settings; each maps to a HOOKHOST_ variable.
public struct SpoolConfig: Sendable {
    public var directory: String
    /// Seconds a webhook-id is remembered for dedup.
    public var dedupTTL: Double = 259_200
    /// Seconds finished (done/skipped) deliveries stay inspectable.
    public var retention: Double = 86_400
    /// Unfinished deliveries before new ones are refused.
    public var queueMax = 100_000
    /// The log is compacted once it is larger than this and more than twice what is still live.
    public var compactMinBytes: Int64 = 64 << 20
    /// After a failed write, the spool counts as writable again only once the filesystem has at
    /// least this much free space (capped at a quarter of a small filesystem) and a probe write
    /// succeeds. About one maximal delivery.
    public var minFreeBytes: Int64 = (1 << 20) + (64 << 10)
    /// Open an existing log only to read it (`deliveries list`/`show` on a stopped host, maybe on
    /// a read-only mount): nothing is created or synced, and the writer must not be started.
    public var readOnly = false
    public init(directory: String) { self.directory = directory }
}

/// The durable delivery store: a group-committed append-only log (`SpoolLog`) and the in-memory
/// index and run queue rebuilt from it (`DeliveryBoard`). Everything acknowledged is on disk
/// before `admit` reports `.accepted`.
public final class Spool: DeliveryStore, DeliveryQueries {
    public let config: SpoolConfig
    public let clock: any WallClock
    let logger: Logger
    let log: SpoolLog
    let board: DeliveryBoard
    let compacting = Atomic<Bool>(false)
    /// The last compaction's thread, joined at stop.
    let compactor = Mutex<ThreadHandle?>(nil)
    /// Which webhook-id each JWT came with, until it expires: each new binding is a record in
    /// the log, queued ahead of the delivery's own (so durable before its 202), rebuilt at start
    /// and rewritten by compaction.
    public let replayMemory: ReplayMemory
    /// Asked for the `hookhost.dead` event of each dead letter (set by the dispatcher).
    let deadLetterWatch = Mutex<(any DeadLetterWatch)?>(nil)

    /// Opens (creating) the spool in `config.directory` and rebuilds the index from the log.
    public init(config: SpoolConfig, clock: any WallClock = SystemClock(), logger: Logger) throws(SpoolError) {
        self.config = config
        self.clock = clock
        self.logger = logger
        log = try SpoolLog(directory: config.directory, minFreeBytes: config.minFreeBytes, readOnly: config.readOnly, logger: logger)
        board = DeliveryBoard(clock: clock)
        let log = log
        // Lazy: the delivery's record, queued right behind, makes the write urgent.
        replayMemory = ReplayMemory(clock: clock, persist: { use in
            log.append(SpoolRecord.token(use).encoded(), lazy: true, inline: true, done: { _ in })
        })
        if !config.readOnly { removeUnfinishedCompaction() }
        // Records go straight into the index as they are read: never the whole log in memory.
        var index = DeliveryIndex()
        let memory = replayMemory, started = clock.now()
        let scan = try log.scan { offset, length, record in
            if case .token(let use) = record { memory.load(use, now: started) }
            index.load(record, at: SpoolRef(offset: offset, length: length))
        }
        if scan.skippedBytes > 0 {
            logger.warn("spool: skipped damaged or torn bytes", ["bytes": .int(scan.skippedBytes), "file": .string(log.path)])
        }
        let r = board.load(index, retention: config.retention, dedupTTL: config.dedupTTL)
        // Records written before heads existed: each unfinished one's body is read once, here.
        for id in board.headless {
            if let (_, _, head) = try? readRecord(id) { board.setHead(id, head) }
        }
        hh_malloc_trim()  // the read windows and decoded records were many and short-lived
        logger.info("spool: recovered", ["deliveries": .int(r.deliveries), "unfinished": .int(r.unfinished),
                                         "interrupted": .int(r.interrupted), "dead": .int(r.dead), "remembered_ids": .int(r.remembered),
                                         "jwt_tokens": .int(replayMemory.count)])
    }

    /// Starts the writer (see `SpoolLog.start`); returns whether it runs at raised priority.
    @discardableResult
    public func startWriter() -> Bool {
        log.start { [self] in housekeeping() }
    }

    /// Writes what is queued and stops the writer; returns once it has.
    public func stopWriter() {
        log.stopHousekeeping()  // no compaction starts after this
        compactor.withLock { $0.take() }?.join()
        log.stop()
    }

    private func housekeeping() {
        // Give memory freed by pruning back to the system, so RSS follows what is remembered.
        if board.prune(retention: config.retention, dedupTTL: config.dedupTTL) + replayMemory.prune() > 0 { hh_malloc_trim() }
        compactIfNeeded()
    }

    // MARK: - Intake

    public func admit(id: String, type: String, verifiedBy: VerifiedBy, jwt: JWTIdentity?, head: DeliveryHead, body: [UInt8],
                      completion: @escaping @Sendable (AdmitResult) -> Void) {
        switch board.beginAdmit(id, type: type, job: head.job, verifiedBy: verifiedBy, queueMax: config.queueMax, completion: completion) {
        case .answered(let r): return completion(r)
        case .waitingForFirstCopy: return
        case .write: break
        }
        let now = clock.now()
        let record = SpoolRecord.delivery(id: id, type: type, receivedAt: now, verifiedBy: verifiedBy, body: body, jwt: jwt, head: head).encoded()
        let board = board
        // Answered from the writer itself (inline): the completion only hands the outcome to its
        // owner (the HTTP loop's mailbox), and a hop through the completion thread cost a context
        // switch per batch.
        log.append(record, placed: { ref in
            board.accepted(id: id, type: type, at: now, verifiedBy: verifiedBy, head: head, body: ref)
        }, inline: true, done: { result in
            switch result {
            case .success: board.endAdmit(id, .accepted, completion: completion)
            case .failure(let e): board.endAdmit(id, .unavailable("spool cannot persist: \(e)"), completion: completion)
            }
        })
    }

    // MARK: - Running

    public func remembers(_ id: String) -> Bool { board.remembers(id) }
    /// Deliveries accepted for writing whose record is not durable yet (a drain waits for them).
    public var admissionsInFlight: Int { board.admissionsInFlight }
    public func jobDuplicate(type: String, job: String?, verifiedBy: VerifiedBy) -> String? {
        board.jobDuplicate(type: type, job: job, verifiedBy: verifiedBy)
    }
    public func feed(into feed: any DueFeed) { board.attach(feed) }
    public func watchDeadLetters(_ watch: any DeadLetterWatch) { deadLetterWatch.withLock { $0 = watch } }

    /// The event reporting `change` if it makes a dead letter (see `DeadLetterWatch`).
    func deadEvent(_ change: StateChange) -> [ChildDelivery] {
        guard change.state == .dead, let watch = deadLetterWatch.withLock({ $0 }), let d = board.info(change.id) else { return [] }
        return watch.events(for: d, change: change)
    }

    public func start(_ id: String, forRun: Bool) -> StartedDelivery? {
        guard let d = board.markRunning(id) else { return nil }
        // Only skipped: no record (redoing a skip after a crash costs nothing) and no body read.
        guard forRun else { return StartedDelivery(info: d, body: []) }
        return begin(d)
    }

    public func startFetch(_ id: String) -> StartedDelivery? {
        guard let d = board.markFetching(id) else { return nil }
        let started = begin(d)
        started?.waitUntilRecorded()  // the download is an effect of the attempt: recorded first
        return started
    }

    /// Records the state `d` was just put in (running or fetching) and reads its body. The record
    /// is queued, not waited for: the body is read meanwhile (without waiting for the disk sync
    /// in progress), and the caller waits on the returned gate before anything of the run happens.
    private func begin(_ d: DeliveryInfo) -> StartedDelivery? {
        var change = StateChange(id: d.id, state: d.state, attempt: d.attempt, at: d.updatedAt)
        change.attemptBase = d.attemptBase
        change.result = d.result
        // A host stopped during the run recovers from this record: without it, when the function
        // began answering "try again later" would be forgotten and `retry_later_for` start afresh.
        change.retryLaterSince = d.retryLaterSince
        let gate = RecordGate()
        // Noted as placed, before the gate opens: the run's later records must find this one as
        // the last state.
        log.append(SpoolRecord.state(change).encoded(), placed: notePosition(d.id, endsAttempt: false), inline: true) { _ in gate.open() }
        guard let (body, jwt, head) = try? readRecord(d.id) else {
            logger.error("spool: delivery body unreadable; dead-lettering", ["id": .string(d.id)])
            finish(StateChange(id: d.id, state: .dead, attempt: d.attempt, at: clock.now(), error: "body unreadable from spool"))
            return nil
        }
        return StartedDelivery(info: d, body: body, jwt: jwt, head: head, recorded: gate)
    }

    @discardableResult
    public func finish(_ change: StateChange, _ mode: FinishMode, emitting children: [ChildDelivery]) -> Bool {
        let children = children + deadEvent(change)
        if !children.isEmpty { return commit(change, emitting: children) }
        let id = change.id
        if mode == .background { return finishInBackground(change) }
        if mode == .lazy {
            guard let change = board.apply(change) else { return false }
            let bytes = SpoolRecord.state(change).encoded()
            log.append(bytes, placed: notePosition(id, endsAttempt: change.endsAttempt), lazy: true, inline: true, done: { _ in })
            return true
        }
        // Durable first, then in effect: a change that makes the delivery due again (fetched,
        // a replay, a retry) must be in the log before whatever a worker records next for it.
        guard let completed = board.complete(change) else { return false }
        // A replayed delivery kept compact lost its head: the router needs it back.
        let head = change.state == .received ? headFromDisk(id) : nil
        // Noted as placed, before a worker can write a later one.
        let result = log.appendSync(SpoolRecord.state(completed).encoded(), placed: notePosition(id, endsAttempt: completed.endsAttempt))
        Spool.takeEffect(completed, written: result, board: board, logger: logger, head: head)
        return true
    }

    /// A completed change whose record was written (or failed to be): in effect now either way —
    /// a failed one is redone after a restart, as the log line says.
    static func takeEffect(_ completed: StateChange, written: Result<SpoolRef, SpoolError>, board: DeliveryBoard, logger: Logger,
                                   head: DeliveryHead? = nil) {
        _ = board.apply(completed, head: head)
        if case .failure(let e) = written {
            logger.error("spool: state change not persisted (it will be redone after a restart)", ["id": .string(completed.id), "error": .string(e.description)])
        }
    }

    /// Notes where a state record of `id` landed as it is placed (compaction waits for placing in
    /// progress, so it cannot move the record between its write and the index learning its position).
    func notePosition(_ id: String, endsAttempt: Bool) -> SpoolLog.Placed {
        let board = board
        return { ref in board.setLastState(id, ref, endsAttempt: endsAttempt) }
    }

    private func finishInBackground(_ change: StateChange) -> Bool {
        // As in `finish(_:.durable)`, only the wait moves to the completion thread: the
        // delivery stays `running` in memory until its record is durable, so nothing can make it
        // due again (or record a later change for it) before then.
        guard let completed = board.complete(change) else { return false }
        let board = board, logger = logger
        log.append(SpoolRecord.state(completed).encoded(), placed: notePosition(change.id, endsAttempt: completed.endsAttempt)) { result in
            Spool.takeEffect(completed, written: result, board: board, logger: logger)
        }
        return true
    }
}
