import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// The locked core both delivery stores share: the index, the run queue, the copies of ids still
/// being written, and the blocking hand-out of due deliveries. It does no I/O; the store around
/// it decides what is persisted and calls in once that is done.
final class DeliveryBoard: @unchecked Sendable {  // safe: every mutable field is guarded by `monitor`
    let clock: any WallClock
    private let monitor = Monitor()
    private var index = DeliveryIndex()
    private var queue = RunQueue()
    /// Ids whose first copy is being written, with the copies that arrived meanwhile.
    private var pending: [ExactKey: [@Sendable (AdmitResult) -> Void]] = [:]
    private var stopped = false
    /// Workers awake and free to take what falls due, counting those already woken for it; a
    /// worker running a function is not free (`busy`). While one is free, a new delivery wakes
    /// nobody: every wake-up is a context switch, and a free worker comes back for it anyway.
    /// Consumers that never registered (`joinWorkers`) make it ≤ 0: they are woken every time.
    private var free = 0
    /// Workers sleeping in `nextDue`.
    private var sleeping = 0
    /// Wake-ups sent and counted in `free` that no sleeper has taken yet.
    private var wakeTickets = 0
    /// Wake-ups sent by `wakeOneIfNeeded` (tests count them through `wakeUps`).
    private var wakesSent = 0
    /// Deliveries `nextDue` handed out, the same one again counted again (tests read `handOuts`).
    private var handedOut = 0

    init(clock: any WallClock) { self.clock = clock }

    /// Under the lock: something fell due; wakes a sleeper unless a free worker will see it.
    private func wakeOneIfNeeded() {
        guard free <= 0, sleeping > wakeTickets else { return }
        free += 1
        wakeTickets += 1
        wakesSent += 1
        monitor.signal()
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
            for d in order {
                if d.state == .retryScheduled { queue.schedule(d.id, at: d.nextAt ?? now) } else { queue.push(d.id) }
            }
            return (index.count, index.unfinished, interrupted, index.dead, index.rememberedCount)
        }
    }

    // MARK: - Intake

    enum Intake { case answered(AdmitResult), waitingForFirstCopy, write }

    /// Decides what happens to a new delivery: a duplicate, a copy of one being written (its
    /// `completion` then runs when the first copy lands), refused, or to be written.
    func beginAdmit(_ id: String, queueMax: Int, completion: @escaping @Sendable (AdmitResult) -> Void) -> Intake {
        monitor.locked {
            let key = ExactKey(id)
            if pending[key] != nil {
                pending[key]!.append { r in completion(r == .accepted ? .duplicate : r) }
                return .waitingForFirstCopy
            }
            if index.remembers(id) { return .answered(.duplicate) }
            if index.unfinished + pending.count >= queueMax {
                return .answered(.unavailable("queue full (\(queueMax) unfinished deliveries)"))
            }
            pending[key] = []
            return .write
        }
    }

    /// The first copy is stored at `body`: the delivery becomes known and due.
    func accepted(id: String, type: String, at: Double, verifiedBy: VerifiedBy, body: SpoolRef) {
        monitor.locked {
            index.accept(id: id, type: type, at: at, verifiedBy: verifiedBy, body: body)
            queue.push(id)
            wakeOneIfNeeded()
        }
    }

    /// The write of `id` ended with `outcome`: answers the first copy and those waiting for it
    /// (outside the lock: the answers go back to the HTTP loops).
    func endAdmit(_ id: String, _ outcome: AdmitResult, completion: @Sendable (AdmitResult) -> Void) {
        let waiters = monitor.locked { pending.removeValue(forKey: ExactKey(id)) ?? [] }
        completion(outcome)
        for w in waiters { w(outcome) }
    }

    // MARK: - Running

    /// Blocks until a delivery is due and returns it; nil once stopped.
    func nextDue() -> DeliveryInfo? {
        monitor.locked {
            while !stopped {
                let now = clock.now()
                while let id = queue.pop(now: now) {
                    // Queue entries may be stale (replayed, purged, rescheduled): the index decides.
                    guard let d = index[id] else { continue }
                    if d.isDue(now: now) {
                        handedOut += 1
                        return d
                    }
                }
                free -= 1
                sleeping += 1
                monitor.wait(seconds: min(1, max(0.001, (queue.nextTimer ?? now + 1) - now)))
                sleeping -= 1
                // Woken for something (already counted free), or by a timeout or broadcast.
                if wakeTickets > 0 { wakeTickets -= 1 } else { free += 1 }
            }
            return nil
        }
    }

    var wakeUps: Int { monitor.locked { wakesSent } }
    var handOuts: Int { monitor.locked { handedOut } }
    var sleepers: Int { monitor.locked { sleeping } }

    /// Counts the calling worker as one more (free) consumer of `nextDue`.
    func joinWorkers() { monitor.locked { free += 1 } }

    /// Runs `body` (a function run: long) with the calling worker counted as busy, first waking
    /// another worker if deliveries are waiting.
    func busy<T>(_ body: () -> T) -> T {
        monitor.locked {
            free -= 1
            if queue.hasReady { wakeOneIfNeeded() }
        }
        defer { monitor.locked { free += 1 } }
        return body()
    }

    /// `freed` is asked under the lock `release` takes: a slot given back before it is seen here;
    /// one given back after, by a `release` that then finds the delivery parked.
    func park(_ id: String, under key: String, unlessFreed freed: () -> Bool = { false }) {
        monitor.locked { if freed() { queue.push(id) } else { queue.park(id, under: key) } }
    }

    func release(_ key: String) {
        monitor.locked { if queue.release(key) { monitor.broadcast() } }
    }

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
    func apply(_ change: StateChange) -> StateChange? {
        monitor.locked {
            var change = change
            guard let d = index.apply(&change) else { return nil }
            if d.state == .retryScheduled { queue.schedule(d.id, at: d.nextAt ?? clock.now()); monitor.broadcast() }
            if d.state == .received || d.state == .fetched { queue.push(d.id); monitor.broadcast() }
            return change
        }
    }

    func setLastState(_ id: String, _ ref: SpoolRef, endsAttempt: Bool) { monitor.locked { index.setLastState(id, ref, endsAttempt: endsAttempt) } }

    func forget(_ id: String) -> Bool { monitor.locked { index.forget(id) } }

    /// Prunes expired entries; returns how many went.
    func prune(retention: Double, dedupTTL: Double) -> Int {
        let now = clock.now()
        var (n, shards) = monitor.locked { (index.pruneWhole(now: now, retention: retention), index.ids.shardCount) }
        // One shard of the id table per lock hold: a shard that lost entries is rebuilt, and
        // admissions wait for at most one shard's rebuild, not all of them.
        for s in 0..<shards {
            n += monitor.locked { index.prune(shard: s, now: now, retention: retention, dedupTTL: dedupTTL) }
        }
        return n
    }

    func stop() { monitor.locked { stopped = true; monitor.broadcast() } }

    // MARK: - Queries

    func info(_ id: String) -> DeliveryInfo? { monitor.locked { index[id] } }
    func remembers(_ id: String) -> Bool { monitor.locked { index.remembers(id) } }
    func list(state: DeliveryState?, type: String?) -> [DeliveryInfo] { monitor.locked { index.list(state: state, type: type) } }
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

    /// Runs `body` on the index under the lock (compaction: snapshot, remap).
    func withIndex<T>(_ body: (inout DeliveryIndex) -> T) -> T { monitor.locked { body(&index) } }
}
