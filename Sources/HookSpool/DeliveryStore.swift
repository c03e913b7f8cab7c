import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// The answer to a new delivery.
public enum AdmitResult: Sendable, Equatable {
    /// Durable (on disk, for the spool).
    case accepted
    /// The id was seen before (and its first copy is durable).
    case duplicate
    /// Could not be stored; the message says why (disk fault, queue full).
    case unavailable(String)
}

/// Counts of the unfinished deliveries, for the operator gauges.
public struct UnfinishedSummary: Sendable, Equatable {
    public var running = 0
    public var retryScheduled = 0
    public var received = 0
    /// When the oldest running, retrying or received delivery arrived.
    public var oldestReceivedAt: Double?
}

/// A delivery handed out to run: its summary, with the attempt it is on, and its body.
public struct StartedDelivery: Sendable {
    public let info: DeliveryInfo
    public let body: [UInt8]
    /// The JWT key and claims it was verified with (nil for HMAC deliveries).
    public var jwt: JWTIdentity? = nil
    /// Opens once the start record is written; nil when there is none to wait for.
    public var recorded: RecordGate? = nil

    /// Returns once the start is on disk: nothing of the run may happen before.
    public func waitUntilRecorded() { recorded?.wait() }
}

/// Opens once a record has been written: durably, or the write failed (the change is then redone
/// after a restart, as for any record that could not be persisted). Lets a worker prepare a run
/// (read the body, build the invocation) while the disk syncs its start record, and wait only
/// right before the function starts.
public final class RecordGate: @unchecked Sendable {  // safe: `isOpen` is guarded by `monitor`
    private let monitor = Monitor()
    private var isOpen = false

    public init() {}

    func open() { monitor.locked { isOpen = true; monitor.broadcast() } }

    public func wait() { monitor.locked { while !isOpen { monitor.wait(seconds: 1) } } }
}

/// Where deliveries live between the 202 and their last run: intake with dedup, the due queue the
/// dispatcher takes from, state changes, and the operator's views and actions. `Spool` keeps it
/// on disk; `MemoryDeliveryStore` in memory (tests, tools).
public protocol DeliveryStore: AnyObject, Sendable {
    /// Stores a new delivery (with the JWT identity it was verified with, if any) or reports it as
    /// a duplicate; `completion` runs once, on any thread (the spool's: its writer, between
    /// fdatasyncs, so it must be short: post the answer, count, log).
    func admit(id: String, type: String, verifiedBy: VerifiedBy, jwt: JWTIdentity?, body: [UInt8],
               completion: @escaping @Sendable (AdmitResult) -> Void)
    /// Whether `id` is remembered (a duplicate if it came again); a cheap look before the work a
    /// new delivery needs. `admit` stays the authority: a copy racing this answer is caught there.
    func remembers(_ id: String) -> Bool
    /// Blocks until a delivery is due and hands it out (it is no longer queued: the caller starts
    /// it or parks it). Nil after `stopTaking()`.
    func nextDue() -> DeliveryInfo?
    /// Counts the calling thread as a worker taking from `nextDue`: while one is free, a delivery
    /// falling due wakes nobody (see `busy`).
    func joinWorkers()
    /// Runs `body` (a function run) with the calling worker counted busy: deliveries falling due
    /// meanwhile wake another worker.
    func busy<T>(_ body: () -> T) -> T
    /// Keeps a handed-out delivery aside until `release(key)` — unless `freed()`, asked under the
    /// queue's lock, says what it waits for came free meanwhile: then it is due again at once. A
    /// release that ran between the caller's "no slot" and this park found nothing to release;
    /// without the second look the delivery would wait for the next release, which may never come.
    func park(_ id: String, under key: String, unlessFreed freed: () -> Bool)
    /// Makes the deliveries parked under `key` due again (a downloader freed up).
    func release(_ key: String)
    /// Marks a handed-out delivery running with its next attempt. `forRun` (a function will run):
    /// the start is recorded — `waitUntilRecorded()` on the result before the function starts —
    /// and the body read; without it (the delivery is only skipped) neither: redoing a skip after
    /// a crash costs nothing, and a skip needs no body. Nil when it is gone, or its body is
    /// unreadable (then it is dead-lettered).
    func start(_ id: String, forRun: Bool) -> StartedDelivery?
    /// Marks a handed-out delivery as downloading its result — an attempt starts — durably, and
    /// reads its body. Nil when it is gone or its body is unreadable (then it is dead-lettered).
    func startFetch(_ id: String) -> StartedDelivery?
    /// Records a transition and schedules what follows. With `waitForDisk` it returns once the
    /// record is durable; without, it rides the next write (for outcomes harmless to redo).
    @discardableResult func finish(_ change: StateChange, waitForDisk: Bool) -> Bool
    /// Records a transition like `finish(change)` — durable first, then in effect — but returns at
    /// once: the change is applied when its record is on disk. For a worker's last record of a
    /// run, so the worker starts its next run meanwhile and that run's start record shares the
    /// disk sync instead of each waiting for its own.
    func finishInBackground(_ change: StateChange)
    /// Makes `nextDue` return nil (shutdown); state changes can still be recorded.
    func stopTaking()

    /// The time stamps on records come from here.
    var clock: any WallClock { get }
    /// Unfinished deliveries (waiting retries included).
    var queueDepth: Int { get }
    /// Deliveries dead now.
    var deadCount: Int { get }
    /// False while new deliveries cannot be stored.
    var isWritable: Bool { get }
    /// One delivery's summary, or nil.
    func info(_ id: String) -> DeliveryInfo?
    /// Deliveries matching the filters, oldest first.
    func list(state: DeliveryState?, type: String?) -> [DeliveryInfo]
    /// How many deliveries are in each unfinished state and when the oldest arrived, counted in
    /// place (a scrape must not copy and sort the index under its lock).
    func unfinishedSummary() -> UnfinishedSummary
    /// One delivery with its body, JWT identity and last recorded state change (outputs).
    func show(_ id: String) -> (info: DeliveryInfo, body: [UInt8], jwt: JWTIdentity?, last: StateChange?)?
    /// The records of how its attempts ended, oldest first (the latest 20); empty if unknown.
    func attempts(_ id: String) -> [StateChange]
    /// Deletes a delivery for good (its id stays remembered for dedup). False if unknown or not stored.
    func forget(_ id: String) -> Bool
}

extension DeliveryStore {
    /// Stores a delivery that carries no JWT identity (HMAC).
    public func admit(id: String, type: String, verifiedBy: VerifiedBy, body: [UInt8], completion: @escaping @Sendable (AdmitResult) -> Void) {
        admit(id: id, type: type, verifiedBy: verifiedBy, jwt: nil, body: body, completion: completion)
    }

    /// Keeps a handed-out delivery aside until `release(key)`, whatever happens meanwhile.
    public func park(_ id: String, under key: String) { park(id, under: key, unlessFreed: { false }) }

    /// Makes a handed-out delivery due again at once (a park whose wait is already over).
    public func requeue(_ id: String) { park(id, under: "", unlessFreed: { true }) }

    /// Starts a delivery for a run and returns once the start is durable.
    public func start(_ id: String) -> StartedDelivery? {
        let started = start(id, forRun: true)
        started?.waitUntilRecorded()
        return started
    }

    /// Records a transition, durably.
    @discardableResult public func finish(_ change: StateChange) -> Bool { finish(change, waitForDisk: true) }

    /// A store without a disk applies it at once (it is as durable as it gets).
    public func finishInBackground(_ change: StateChange) { finish(change, waitForDisk: true) }

    /// Every delivery, oldest first.
    public func list() -> [DeliveryInfo] { list(state: nil, type: nil) }

    /// The deliveries in one state, oldest first.
    public func list(state: DeliveryState) -> [DeliveryInfo] { list(state: state, type: nil) }

    /// Queues a finished or dead delivery again with a fresh attempt budget. False if unknown or
    /// still unfinished.
    public func replay(_ id: String) -> Bool {
        guard let d = info(id), !d.state.isUnfinished else { return false }
        var change = StateChange(id: id, state: .received, attempt: d.attempt, at: clock.now(), error: nil)
        change.attemptBase = d.attempt
        return finish(change)
    }

    /// Replays every dead delivery (of one type); returns how many.
    public func retryDead(type: String? = nil) -> Int {
        list(state: .dead, type: type).reduce(0) { $0 + (replay($1.id) ? 1 : 0) }
    }

    /// Deletes dead deliveries (of one type) for good; their ids stay remembered for dedup.
    public func purgeDead(type: String? = nil) -> Int {
        list(state: .dead, type: type).reduce(0) { $0 + (forget($1.id) ? 1 : 0) }
    }
}
