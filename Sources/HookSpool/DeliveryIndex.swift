import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// What is known about every delivery, and which ids are remembered for dedup. Pure: records and
/// state changes go in, summaries come out; no locks, no I/O, time passed in. The same code
/// rebuilds it from the log at start and keeps it current while the host runs.
///
/// Memory is what limits how long ids and finished deliveries can be kept, so the bulk is
/// compact: every remembered id is an `IdTable` entry (its bytes in an arena, no String), and a
/// finished delivery — the ones kept for the whole retention period — is a fixed-size
/// `FinishedDelivery` in that table. Only deliveries still being worked on, dead letters (few,
/// and their error is shown) and the rare finished delivery a compact record cannot hold exactly
/// (a retried one, with its attempt history) are kept whole in `active`.
struct DeliveryIndex {
    /// Whole deliveries (see above). Each one's id is in `ids` with its active flag set.
    private(set) var active = ShardedDictionary<DeliveryInfo>()
    /// Every remembered id, with the compact record of its delivery if that is finished.
    private(set) var ids = IdTable()
    /// Deliveries still owed a run (received, running, retry scheduled).
    private(set) var unfinished = 0
    /// Dead letters.
    private(set) var dead = 0
    /// One shared String per distinct event type or function name, so a million deliveries don't
    /// hold a million copies; compact records hold their index.
    private(set) var names: [String] = []
    private var nameIndex: [ExactKey: UInt32] = [:]
    /// The job completions admitted (see `JobIndex`, `DeliveryIndex+Jobs`).
    var jobs = JobIndex()

    subscript(id: String) -> DeliveryInfo? {
        guard let p = ids.lookup(id) else { return nil }
        return delivery(at: p, id: id)
    }

    /// Whether `id` was accepted within the dedup TTL (or is still known).
    func remembers(_ id: String) -> Bool { ids.contains(id) }

    var count: Int { active.count + ids.finishedCount }
    var rememberedCount: Int { ids.count }

    // MARK: - Whole and compact deliveries

    private func delivery(at p: IdTable.Position, id: String) -> DeliveryInfo? {
        if ids[p].isActive { return active[id] }
        return ids.finished(at: p).map { expand($0, id: id) }
    }

    /// Stores `d` compact if it is finished and a compact record holds it exactly, else whole.
    /// Its id must be remembered (every known delivery's id is).
    private mutating func store(_ d: DeliveryInfo) {
        let p = ids.lookup(d.id) ?? ids.remember(d.id, at: d.receivedAt)
        if let f = compact(d) {
            if ids[p].isActive { active[d.id] = nil; ids.setActive(p, false) }
            ids.setFinished(p, f)
        } else {
            ids.setFinished(p, nil)
            active[d.id] = d
            ids.setActive(p, true)
        }
    }

    /// Drops the delivery of `id` (whole or compact); its id stays remembered.
    private mutating func remove(_ id: String) -> DeliveryInfo? {
        guard let p = ids.lookup(id), let d = delivery(at: p, id: id) else { return nil }
        ids.setFinished(p, nil)
        if ids[p].isActive { active[id] = nil; ids.setActive(p, false) }
        return d
    }

    private mutating func name(_ s: String) -> UInt32 {
        if let i = nameIndex[ExactKey(s)] { return i }
        names.append(s)
        nameIndex[ExactKey(s)] = UInt32(names.count - 1)
        return UInt32(names.count - 1)
    }

    /// The compact form of a finished delivery, nil if it has anything a compact record has no
    /// room for (then it stays whole: exactness beats a few bytes for a rare case).
    private mutating func compact(_ d: DeliveryInfo) -> FinishedDelivery? {
        // A pipeline's steps stay whole: their chain is what `deliveries list --root` shows.
        // A synthesized event stays whole: a compact record knows only HMAC from JWT.
        guard d.state == .done || d.state == .skipped, d.verifiedBy != .reconcile, d.lastError == nil, d.result == nil, d.nextAt == nil, d.head?.chain == nil,
              d.retryLaterSince == nil, d.earlierAttempts.isEmpty,
              let attempt = Int32(exactly: d.attempt), let base = Int32(exactly: d.attemptBase),
              let bodyLength = UInt32(exactly: d.body.length), let lastLength = UInt32(exactly: d.lastState?.length ?? 0)
        else { return nil }
        var flags: UInt8 = d.verifiedBy == .jwt ? FinishedDelivery.jwt : 0
        if d.lastState != nil { flags |= FinishedDelivery.hasLast }
        if d.lastIsAttempt { flags |= FinishedDelivery.lastIsAttempt }
        return FinishedDelivery(receivedAt: d.receivedAt, updatedAt: d.updatedAt, bodyOffset: d.body.offset,
                                lastOffset: d.lastState?.offset ?? 0, attempt: attempt, attemptBase: base, type: name(d.type),
                                function: d.function.map { name($0) + 1 } ?? 0, bodyLength: bodyLength, lastLength: lastLength,
                                state: d.state == .done ? 0 : 1, flags: flags)
    }

    /// The whole delivery a compact record stands for.
    func expand(_ f: FinishedDelivery, id: String) -> DeliveryInfo {
        var d = DeliveryInfo(id: id, type: names[Int(f.type)], receivedAt: f.receivedAt, verifiedBy: f.flags & FinishedDelivery.jwt != 0 ? .jwt : .hmac,
                             updatedAt: f.updatedAt, body: SpoolRef(offset: f.bodyOffset, length: Int(f.bodyLength)))
        d.state = f.state == 0 ? .done : .skipped
        d.attempt = Int(f.attempt)
        d.attemptBase = Int(f.attemptBase)
        d.function = f.function == 0 ? nil : names[Int(f.function) - 1]
        d.lastState = f.flags & FinishedDelivery.hasLast != 0 ? SpoolRef(offset: f.lastOffset, length: Int(f.lastLength)) : nil
        d.lastIsAttempt = f.flags & FinishedDelivery.lastIsAttempt != 0
        return d
    }

    // MARK: - Loading from the log

    /// Applies one record read back from the log. Counts are not kept while loading; call
    /// `finishLoading` once every record is in.
    mutating func load(_ record: SpoolRecord, at ref: SpoolRef) {
        switch record {
        case .delivery(let id, let type, let at, let vb, _, _, let head):
            // A later record for the same id is a new delivery accepted after the old one's
            // dedup TTL ran out: it replaces the old one entirely. Records older than heads
            // hold the type as sent.
            ids.remember(id, at: at)
            store(DeliveryInfo(id: id, type: shared(head == nil ? EventType.canonical(type) : type), receivedAt: at, verifiedBy: vb,
                               updatedAt: at, body: ref, head: head))
            noteJob(id: id, type: type, verifiedBy: vb, head: head, at: at)
        case .state(let change):
            guard var d = self[change.id] else { return }
            d.apply(change)
            d.setLastState(ref, endsAttempt: change.endsAttempt)
            store(d)
        case .seen(let id, let at):
            ids.remember(id, at: at)
        case .forget(let id):
            _ = remove(id)
        case .job(let mark):
            jobs.load(mark)
        case .noop, .token:  // tokens go to the replay memory, not the index
            break
        case .batch(let inner):
            for n in inner { load(n.record, at: SpoolRef(offset: ref.offset + Int64(n.offset), length: n.length)) }
        }
    }

    /// Ends loading: runs the host was in the middle of become due again (attempt + 1 follows),
    /// counts are rebuilt. Returns the unfinished deliveries in arrival order, and how many
    /// were interrupted.
    mutating func finishLoading(now: Double) -> (unfinished: [DeliveryInfo], interrupted: Int) {
        var interrupted = 0
        for (id, var d) in active.pairs where d.state == .running || d.state == .fetching {
            d.lastError = d.state == .running ? "interrupted: host stopped while the handler was running"
                                              : "interrupted: host stopped while the result was downloading"
            d.state = .retryScheduled
            d.nextAt = now
            active[id] = d
            interrupted += 1
        }
        // Unfinished and dead deliveries are always whole.
        let order = active.values.filter { $0.state.isUnfinished }.sorted(by: DeliveryIndex.arrivalOrder)
        unfinished = order.count
        dead = active.values.filter { $0.state == .dead }.count
        return (order, interrupted)
    }

    // MARK: - Changes while running

    /// Records a new delivery (durable at `body`).
    mutating func accept(id: String, type: String, at: Double, verifiedBy: VerifiedBy, head: DeliveryHead? = nil, body: SpoolRef) {
        ids.remember(id, at: at)
        store(DeliveryInfo(id: id, type: shared(type), receivedAt: at, verifiedBy: verifiedBy, updatedAt: at, body: body, head: head))
        noteJob(id: id, type: type, verifiedBy: verifiedBy, head: head, at: at)
        unfinished += 1
    }

    /// Gives a delivery the head read back from its record (loaded without one, or compact).
    mutating func setHead(_ id: String, _ head: DeliveryHead) {
        guard var d = self[id] else { return }
        d.head = head
        store(d)
    }

    /// Unfinished deliveries without a head: loaded from records written before heads existed.
    var headless: [String] { active.values.filter { $0.head == nil && $0.state.isUnfinished }.map(\.id) }

    /// Marks a due delivery running with the next attempt number (a `fetched` one continues the
    /// attempt its download started); nil if it is gone or no longer due (an operator purged or
    /// replayed it meanwhile).
    mutating func markRunning(_ id: String, now: Double) -> DeliveryInfo? {
        guard var d = self[id], d.state == .received || d.state == .retryScheduled || d.state == .fetched else { return nil }
        if d.state != .fetched { d.attempt += 1 }
        d.state = .running
        d.nextAt = nil
        d.updatedAt = now
        store(d)
        return d
    }

    /// Marks a due delivery as downloading its result: an attempt starts here.
    mutating func markFetching(_ id: String, now: Double) -> DeliveryInfo? {
        guard var d = self[id], d.state == .received || d.state == .retryScheduled else { return nil }
        d.state = .fetching
        d.attempt += 1
        d.nextAt = nil
        d.updatedAt = now
        store(d)
        return d
    }

    /// Applies a transition. Every state record carries the attempt-budget base, so the last one
    /// alone (all that compaction keeps) restores it: a change without one gets the current base.
    /// Returns the delivery as it is now, nil if unknown.
    mutating func apply(_ change: inout StateChange) -> DeliveryInfo? {
        guard complete(&change), var d = self[change.id] else { return nil }
        let wasUnfinished = d.state.isUnfinished, wasDead = d.state == .dead
        d.apply(change)
        store(d)
        unfinished += (d.state.isUnfinished ? 1 : 0) - (wasUnfinished ? 1 : 0)
        dead += (d.state == .dead ? 1 : 0) - (wasDead ? 1 : 0)
        return d
    }

    /// Fills in what a state record carries from the delivery's current state (the budget base,
    /// the result); false if the delivery is unknown. `apply` does this too; a store calls it
    /// first when the record must be durable before the change takes effect in memory.
    func complete(_ change: inout StateChange) -> Bool {
        guard let d = self[change.id] else { return false }
        if change.attemptBase == nil { change.attemptBase = d.attemptBase }
        // Likewise the downloaded result, while the delivery is still being worked on.
        if change.result == nil && change.state.isUnfinished && change.state != .received && change.state != .fetching {
            change.result = d.result
        }
        return true
    }

    /// Where the delivery's last state record is (for `show` and compaction); `endsAttempt` if
    /// it records how an attempt ended (kept in the attempt history).
    mutating func setLastState(_ id: String, _ ref: SpoolRef, endsAttempt: Bool) {
        guard var d = self[id] else { return }
        d.setLastState(ref, endsAttempt: endsAttempt)
        store(d)
    }

    /// Drops a delivery for good; its id stays remembered. False if unknown.
    mutating func forget(_ id: String) -> Bool {
        guard let d = remove(id) else { return false }
        if d.state == .dead { dead -= 1 }
        if d.state.isUnfinished { unfinished -= 1 }
        return true
    }

    /// Drops finished deliveries past retention and dedup ids past their TTL; returns how many
    /// entries went.
    @discardableResult
    mutating func prune(now: Double, retention: Double, dedupTTL: Double) -> Int {
        var n = pruneWhole(now: now, retention: retention) + pruneJobs(before: now - dedupTTL)
        for s in 0..<ids.shardCount { n += prune(shard: s, now: now, retention: retention, dedupTTL: dedupTTL) }
        return n
    }

    /// The part of `prune` for whole deliveries; run it before the shards' part.
    mutating func pruneWhole(now: Double, retention: Double) -> Int {
        var gone: [String] = []
        active.removeAll { id, d in
            let expired = (d.state == .done || d.state == .skipped || d.state == .handedOver) && d.updatedAt < now - retention
            if expired { gone.append(id) }
            return expired
        }
        for id in gone { if let p = ids.lookup(id) { ids.setActive(p, false) } }
        return gone.count
    }

    /// The part of `prune` for one shard of the id table (the lock can be let go in between).
    mutating func prune(shard s: Int, now: Double, retention: Double, dedupTTL: Double) -> Int {
        ids.prune(shard: s) { e, f in
            let keepRecord = f.map { $0.updatedAt >= now - retention } ?? false
            return (keepRecord || e.isActive || e.seenAt >= now - dedupTTL, keepRecord)
        }
    }

    /// Moves every log position (after compaction rewrote the log).
    mutating func remap(_ move: (SpoolRef) -> SpoolRef) {
        active.updateAll { d in
            var d = d
            d.body = move(d.body)
            d.lastState = d.lastState.map(move)
            if !d.earlierAttempts.isEmpty { d.earlierAttempts = d.earlierAttempts.map(move) }
            return d
        }
        ids.updateFinished { f in
            let body = move(SpoolRef(offset: f.bodyOffset, length: Int(f.bodyLength)))
            f.bodyOffset = body.offset
            if f.flags & FinishedDelivery.hasLast != 0 { f.lastOffset = move(SpoolRef(offset: f.lastOffset, length: Int(f.lastLength))).offset }
        }
    }

    private mutating func shared(_ type: String) -> String { names[Int(name(type))] }
}
