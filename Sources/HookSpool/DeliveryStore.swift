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

/// An event a function's run emitted, ready to be stored as a delivery of its own.
public struct ChildDelivery: Sendable, Equatable {
    public var id: String
    public var type: String
    public var body: [UInt8]
    /// Carries the chain (parent, root, depth).
    public var head: DeliveryHead
    /// `parent` for what a function emitted, `host` for the host's own events.
    public var verifiedBy: VerifiedBy

    public init(id: String, type: String, body: [UInt8], head: DeliveryHead, verifiedBy: VerifiedBy = .parent) {
        self.id = id; self.type = type; self.body = body; self.head = head; self.verifiedBy = verifiedBy
    }

    /// What the events of one run may take in the record that commits them with the parent's
    /// outcome: a frame holds `SpoolRecord.maxPayload`, and the parent's own state record (its
    /// stdout, at most 1 MiB, and stderr tail) needs room beside them. A larger frame would be
    /// written, but recovery would take it for damage: every child lost, the parent run again.
    public static let maxCommitBytes = SpoolRecord.maxPayload - (4 << 20)

    /// The bytes its record takes in that frame (at most: the arrival time is not known yet and
    /// is counted at its longest). The body carries the user_metadata, inherited or not.
    public var recordBytes: Int {
        SpoolRecord.delivery(id: id, type: type, receivedAt: 0, verifiedBy: .parent, body: body, head: head).encodedCount
            + ChildDelivery.longestTime
    }

    /// Room for an arrival time written as a double (`String(Double)`: at most 24 characters).
    private static let longestTime = 32
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
    /// The head as stored with the record (nil: use the one in `info`).
    public var head: DeliveryHead? = nil
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

/// How a state change meets the disk.
public enum FinishMode: Sendable {
    /// Returns once the record is durable; in effect from then on.
    case durable
    /// Returns at once; in effect once the record is durable. For a worker's last record of a
    /// run, so the worker starts its next run meanwhile and that run's start record shares the
    /// disk sync instead of each waiting for its own.
    case background
    /// In effect at once; the record rides the next write (for outcomes harmless to redo).
    case lazy
}

/// Where deliveries live between the 202 and their last run — the write side: intake with
/// dedup, starting and finishing attempts, purging. Due deliveries go to the scheduler attached
/// with `feed(into:)`; reads are `DeliveryQueries`. `Spool` keeps it on disk;
/// `MemoryDeliveryStore` in memory (tests, tools).
public protocol DeliveryStore: AnyObject, Sendable {
    /// Stores a new delivery (with the JWT identity it was verified with, if any) or reports it as
    /// a duplicate; `completion` runs once, on any thread (the spool's: its writer, between
    /// fdatasyncs, so it must be short: post the answer, count, log). `type` is canonical and
    /// `head` what admission read from the body.
    func admit(id: String, type: String, verifiedBy: VerifiedBy, jwt: JWTIdentity?, head: DeliveryHead, body: [UInt8],
               completion: @escaping @Sendable (AdmitResult) -> Void)
    /// Whether `id` is remembered (a duplicate if it came again); a cheap look before the work a
    /// new delivery needs. `admit` stays the authority: a copy racing this answer is caught there.
    func remembers(_ id: String) -> Bool
    /// Sends the ids of due deliveries to `feed` from now on, those already due first.
    func feed(into feed: any DueFeed)
    /// Asks `watch` for an event to commit with every dead letter from now on.
    func watchDeadLetters(_ watch: any DeadLetterWatch)
    /// Marks a due delivery running with its next attempt. `forRun` (a function will run):
    /// the start is recorded — `waitUntilRecorded()` on the result before the function starts —
    /// and the body read; without it (the delivery is only skipped) neither: redoing a skip after
    /// a crash costs nothing, and a skip needs no body. Nil when it is gone or no longer due, or
    /// its body is unreadable (then it is dead-lettered).
    func start(_ id: String, forRun: Bool) -> StartedDelivery?
    /// Marks a due delivery as downloading its result — an attempt starts — durably, and reads
    /// its body. Nil when it is gone or no longer due, or its body is unreadable (dead-lettered).
    func startFetch(_ id: String) -> StartedDelivery?
    /// Records a transition and schedules what follows (see `FinishMode`), and stores `children`
    /// (events the run emitted) in the same write: after a crash either the change and every
    /// child are there, or none of them. Children whose id is remembered already are left out
    /// (a parent run again yields the same ids). False if unknown.
    @discardableResult func finish(_ change: StateChange, _ mode: FinishMode, emitting children: [ChildDelivery]) -> Bool
    /// Queues finished or dead deliveries again, each with a fresh attempt budget, in one durable
    /// write: after a crash either every one of them is queued or none is. They become due like
    /// any delivery (the scheduler's limits apply: a replay of thousands does not start them at
    /// once). Unknown and unfinished ids are left out; returns how many were queued. Throws when
    /// the write failed — then none is.
    func replay(_ ids: [String]) throws(SpoolError) -> Int
    /// Deletes deliveries for good in one durable write (their ids stay remembered for dedup);
    /// unknown ids are left out. Returns how many went; throws when the write failed (none did).
    func forget(_ ids: [String]) throws(SpoolError) -> Int
    /// One delivery's summary, or nil.
    func info(_ id: String) -> DeliveryInfo?
    /// The time stamps on records come from here.
    var clock: any WallClock { get }
}

/// The read-only side of the delivery store, for the CLI, the control socket and the gauges.
public protocol DeliveryQueries: AnyObject, Sendable {
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
    /// A pipeline: `root` (if known) and every event emitted below it, by depth, then arrival.
    func chain(root: String) -> [DeliveryInfo]
    /// Whether a delivery of this job completion (`JobKey`) would repeat one admitted through
    /// the other path: nil when not; else the id of the synthesized (`reconcile`) event it
    /// repeats, or "" for a synthesized one a real delivery came before. `admit` stays the authority.
    func jobDuplicate(type: String, job: String?, verifiedBy: VerifiedBy) -> String?
    /// A page of what `filter` selects, newest first, below `before` (see `DeliveryCursor`).
    func page(_ filter: DeliveryFilter, before: DeliveryCursor?, limit: Int) -> DeliveryPage
    /// For every function, its newest `limit` deliveries, newest first (one pass, not a page each).
    func newestByFunction(limit: Int) -> [String: [DeliveryInfo]]
}

/// Both sides: what the host's components are handed (each uses the part it needs).
public typealias DeliveryStorage = DeliveryStore & DeliveryQueries

extension DeliveryStore {
    /// Stores a delivery that carries no JWT identity (HMAC), reading its head from the body
    /// (tools and tests; the endpoint passes the head it read while validating).
    public func admit(id: String, type: String, verifiedBy: VerifiedBy, jwt: JWTIdentity? = nil, body: [UInt8],
                      completion: @escaping @Sendable (AdmitResult) -> Void) {
        let type = EventType.canonical(type)
        let head = (try? JSONParser.parse(body)).map { DeliveryHead.derive(type: type, event: $0, body: body) } ?? DeliveryHead()
        admit(id: id, type: type, verifiedBy: verifiedBy, jwt: jwt, head: head, body: body, completion: completion)
    }

    /// Starts a delivery for a run and returns once the start is durable.
    public func start(_ id: String) -> StartedDelivery? {
        let started = start(id, forRun: true)
        started?.waitUntilRecorded()
        return started
    }

    /// Records a transition, durably.
    @discardableResult public func finish(_ change: StateChange) -> Bool { finish(change, .durable, emitting: []) }

    /// Records a transition (see `FinishMode`).
    @discardableResult public func finish(_ change: StateChange, _ mode: FinishMode) -> Bool { finish(change, mode, emitting: []) }

    /// Queues a finished or dead delivery again with a fresh attempt budget. False if unknown or
    /// still unfinished, or the write failed.
    public func replay(_ id: String) -> Bool { (try? replay([id])) == 1 }

    /// Deletes a delivery for good (its id stays remembered for dedup). False if unknown or not stored.
    public func forget(_ id: String) -> Bool { (try? forget([id])) == 1 }

    /// The state change that queues a finished delivery again: attempts so far become the base
    /// its fresh budget counts from. Nil for one still unfinished (it runs anyway).
    func replayChange(_ d: DeliveryInfo, at now: Double) -> StateChange? {
        // Handed over: another replica owns it now; running it here too would run it twice.
        guard !d.state.isUnfinished, d.state != .handedOver else { return nil }
        var change = StateChange(id: d.id, state: .received, attempt: d.attempt, at: now, error: nil)
        change.attemptBase = d.attempt
        return change
    }
}

extension DeliveryQueries {
    public func jobDuplicate(type: String, job: String?, verifiedBy: VerifiedBy) -> String? { nil }

    /// Every delivery, oldest first.
    public func list() -> [DeliveryInfo] { list(state: nil, type: nil) }

    /// The deliveries in one state, oldest first.
    public func list(state: DeliveryState) -> [DeliveryInfo] { list(state: state, type: nil) }
}

extension DeliveryQueries where Self: DeliveryStore {
    /// Replays every dead delivery (of one type) in one write; returns how many (0 when the write failed).
    public func retryDead(type: String? = nil) -> Int {
        (try? replay(list(state: .dead, type: type).map(\.id))) ?? 0
    }

    /// Deletes dead deliveries (of one type) for good in one write; their ids stay remembered for
    /// dedup. Returns how many (0 when the write failed).
    public func purgeDead(type: String? = nil) -> Int {
        (try? forget(list(state: .dead, type: type).map(\.id))) ?? 0
    }
}
