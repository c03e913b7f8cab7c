import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// The locked core both delivery stores share: the index, the copies of ids still being written,
/// and the feed of due ids to the scheduler. It does no I/O; the store around it decides what is
/// persisted and calls in once that is done.
final class DeliveryBoard: @unchecked Sendable {  // safe: every mutable field is guarded by `monitor`
    let clock: any WallClock
    private let monitor = Monitor()
    private var index = DeliveryIndex()
    /// Ids whose first copy is being written, with the copies that arrived meanwhile.
    private var pending: [ExactKey: [@Sendable (AdmitResult) -> Void]] = [:]
    /// The job completions among them (`JobIndex`): a synthesized event and a real delivery of
    /// one completion arriving together must not both be written.
    private var pendingJobs: [JobKey: (id: String, reconcile: Bool)] = [:]
    /// The scheduler due ids go to; until one is attached they wait in `backlog`, in order.
    private var feed: (any DueFeed)?
    private var backlog: [(id: String, at: Double?)] = []

    init(clock: any WallClock) { self.clock = clock }

    /// Under the lock: `id` is due (now, or at `at`).
    private func fall(_ id: String, at: Double? = nil) {
        guard let feed else { return backlog.append((id, at)) }
        if let at { feed.due(id, at: at) } else { feed.due(id) }
    }

    /// Sends due ids to `feed` from now on, first those that fell due before.
    func attach(_ feed: any DueFeed) {
        monitor.locked {
            self.feed = feed
            for (id, at) in backlog { fall(id, at: at) }
            backlog = []
        }
    }

    // MARK: - Loading

    /// Takes an index built from the log record by record (`DeliveryIndex.load`), finishes it and
    /// queues what is unfinished.
    func load(_ loaded: DeliveryIndex, retention: Double, dedupTTL: Double)
        -> (deliveries: Int, unfinished: Int, interrupted: Int, dead: Int, remembered: Int) {
        monitor.locked {
            index = loaded
            let now = clock.now()
            index.prune(now: now, retention: retention, dedupTTL: dedupTTL)
            let (order, interrupted) = index.finishLoading(now: now)
            for d in order { fall(d.id, at: d.state == .retryScheduled ? d.nextAt ?? now : nil) }
            return (index.count, index.unfinished, interrupted, index.dead, index.rememberedCount)
        }
    }

    // MARK: - Intake

    enum Intake { case answered(AdmitResult), waitingForFirstCopy, write }

    /// Decides what happens to a new delivery: a duplicate, a copy of one being written (its
    /// `completion` then runs when the first copy lands), refused, or to be written.
    /// A delivery that repeats a job completion known through the other kind (synthesized or
    /// real: see `DeliveryIndex.jobDuplicate`) is a duplicate too.
    /// `takesBack`: a hand-over, which may bring back a delivery this host gave away
    /// (`handed_over` here): that one is written again rather than answered as a duplicate.
    /// Deliveries being written now (answered once their record is durable).
    var admissionsInFlight: Int { monitor.locked { pending.count } }

    func beginAdmit(_ id: String, type: String = "", job: String? = nil, verifiedBy: VerifiedBy = .parent, queueMax: Int,
                    takesBack: Bool = false, completion: @escaping @Sendable (AdmitResult) -> Void) -> Intake {
        monitor.locked {
            let key = ExactKey(id)
            if pending[key] != nil {
                pending[key]!.append { r in completion(r == .accepted ? .duplicate : r) }
                return .waitingForFirstCopy
            }
            // A sender's own delivery whose id is `handed_over` here is a duplicate too: the sender
            // re-sends only what was not acknowledged, and this one was (its 202 came from here),
            // so a copy is a late retry and the peer that took it over runs it. Only a peer
            // handing it back makes it this host's again.
            if index.remembers(id) && !(takesBack && index[id]?.state == .handedOver) { return .answered(.duplicate) }
            let jobKey = DeliveryIndex.takesPartByJob(verifiedBy) ? JobKey(type: type, job: job) : nil
            if let jobKey {
                if index.jobDuplicate(type: type, job: job, verifiedBy: verifiedBy) != nil { return .answered(.duplicate) }
                // One being written: a synthesized event waits for nothing it would repeat, a
                // real delivery only for a synthesized one.
                // Answered once that one is durable, as a copy of an id is: "duplicate" before then
                // would acknowledge a completion that a failed write or a crash loses (the sender
                // stops retrying); if it fails, this one is refused too and sent again.
                if let p = pendingJobs[jobKey], verifiedBy == .reconcile || p.reconcile, pending[ExactKey(p.id)] != nil {
                    pending[ExactKey(p.id)]!.append { r in completion(r == .accepted ? .duplicate : r) }
                    return .waitingForFirstCopy
                }
            }
            if index.unfinished + pending.count >= queueMax {
                return .answered(.unavailable("queue full (\(queueMax) unfinished deliveries)"))
            }
            pending[key] = []
            if let jobKey { pendingJobs[jobKey] = (id, verifiedBy == .reconcile) }
            return .write
        }
    }

    /// The first copy is stored at `body`: the delivery becomes known and due.
    func accepted(id: String, type: String, at: Double, verifiedBy: VerifiedBy, head: DeliveryHead? = nil, body: SpoolRef) {
        monitor.locked {
            index.accept(id: id, type: type, at: at, verifiedBy: verifiedBy, head: head, body: body)
            fall(id)
        }
    }

    /// The write of `id` ended with `outcome`: answers the first copy and those waiting for it
    /// (outside the lock: the answers go back to the HTTP loops).
    func endAdmit(_ id: String, _ outcome: AdmitResult, completion: @Sendable (AdmitResult) -> Void) {
        let waiters = monitor.locked {
            if !pendingJobs.isEmpty, let k = pendingJobs.first(where: { ExactKey($0.value.id) == ExactKey(id) })?.key { pendingJobs[k] = nil }
            return pending.removeValue(forKey: ExactKey(id)) ?? []
        }
        completion(outcome)
        for w in waiters { w(outcome) }
    }

    // MARK: - Running

    /// Marks a handed-out delivery running (attempt + 1); nil if it is gone or no longer due.
    func markRunning(_ id: String) -> DeliveryInfo? {
        monitor.locked { index.markRunning(id, now: clock.now()) }
    }

    /// Marks a handed-out delivery as downloading its result (attempt + 1); nil if it is gone or
    /// no longer due.
    func markFetching(_ id: String) -> DeliveryInfo? {
        monitor.locked { index.markFetching(id, now: clock.now()) }
    }

    /// The change as it must be recorded (see `DeliveryIndex.complete`), without applying it;
    /// nil if the delivery is unknown.
    func complete(_ change: StateChange) -> StateChange? {
        monitor.locked {
            var change = change
            return index.complete(&change) ? change : nil
        }
    }

    /// Applies a transition and queues what follows; returns the change as it must be recorded
    /// (attempt-budget base filled in), nil if the delivery is unknown.
    func apply(_ change: StateChange, head: DeliveryHead? = nil) -> StateChange? {
        monitor.locked {
            var change = change
            guard var d = index.apply(&change) else { return nil }
            if let head, d.head == nil, d.state.isUnfinished {
                index.setHead(d.id, head)
                d.head = head
            }
            if d.state == .retryScheduled { fall(d.id, at: d.nextAt ?? clock.now()) }
            if d.state == .received || d.state == .fetched { fall(d.id) }
            return change
        }
    }

    func setHead(_ id: String, _ head: DeliveryHead) { monitor.locked { index.setHead(id, head) } }
    var headless: [String] { monitor.locked { index.headless } }

    func setLastState(_ id: String, _ ref: SpoolRef, endsAttempt: Bool) { monitor.locked { index.setLastState(id, ref, endsAttempt: endsAttempt) } }

    func forget(_ id: String) -> Bool { monitor.locked { index.forget(id) } }

    /// Prunes expired entries; returns how many went.
    func prune(retention: Double, dedupTTL: Double) -> Int {
        let now = clock.now()
        var (n, shards) = monitor.locked {
            (index.pruneWhole(now: now, retention: retention) + index.pruneJobs(before: now - dedupTTL), index.ids.shardCount)
        }
        // One shard of the id table per lock hold: a shard that lost entries is rebuilt, and
        // admissions wait for at most one shard's rebuild, not all of them.
        for s in 0..<shards {
            n += monitor.locked { index.prune(shard: s, now: now, retention: retention, dedupTTL: dedupTTL) }
        }
        return n
    }

    // MARK: - Queries

    func info(_ id: String) -> DeliveryInfo? { monitor.locked { index[id] } }
    func remembers(_ id: String) -> Bool { monitor.locked { index.remembers(id) } }
    func jobDuplicate(type: String, job: String?, verifiedBy: VerifiedBy) -> String? {
        monitor.locked { index.jobDuplicate(type: type, job: job, verifiedBy: verifiedBy) }
    }
    func chain(root: String) -> [DeliveryInfo] { monitor.locked { index.chain(root: root) } }
    func list(state: DeliveryState?, type: String?) -> [DeliveryInfo] { monitor.locked { index.list(state: state, type: type) } }
    func page(_ filter: DeliveryFilter, before: DeliveryCursor?, limit: Int) -> DeliveryPage {
        monitor.locked { index.page(filter, before: before, limit: limit) }
    }
    func newestByFunction(limit: Int) -> [String: [DeliveryInfo]] { monitor.locked { index.newestByFunction(limit: limit) } }
    var unfinished: Int { monitor.locked { index.unfinished } }
    func unfinishedSummary() -> UnfinishedSummary { monitor.locked { index.unfinishedSummary() } }
    var dead: Int { monitor.locked { index.dead } }
    /// `DeliveryIndex.liveBytes`, one chunk per lock hold: admissions go on in between. An estimate
    /// for deciding on compaction, so changes made during the walk may or may not be counted.
    var liveBytes: Int64 {
        let chunks = monitor.locked { index.liveChunks }
        var sum = monitor.locked { index.liveBytesOfIdsOnly }
        for c in 0..<chunks { sum += monitor.locked { c < index.liveChunks ? index.liveBytes(chunk: c) : 0 } }
        return sum
    }

    /// Runs `body` on the index under the lock, with `fall(id, at)` to make ids due (nil: now).
    func withIndexAndFeed(_ body: (inout DeliveryIndex, (String, Double?) -> Void) -> Void) {
        monitor.locked { body(&index) { id, at in fall(id, at: at) } }
    }

    /// Runs `body` on the index under the lock (compaction: snapshot, remap).
    func withIndex<T>(_ body: (inout DeliveryIndex) -> T) -> T { monitor.locked { body(&index) } }
}
