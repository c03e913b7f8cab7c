/// What is known about every delivery, and which ids are remembered for dedup. Pure: records and
/// state changes go in, summaries come out; no locks, no I/O, time passed in. The same code
/// rebuilds it from the log at start and keeps it current while the host runs.
struct DeliveryIndex {
    private(set) var deliveries = ShardedDictionary<DeliveryInfo>()
    private(set) var seen = ShardedDictionary<Double>()
    /// Deliveries still owed a run (received, running, retry scheduled).
    private(set) var unfinished = 0
    /// Dead letters.
    private(set) var dead = 0
    /// One shared String per distinct event type, so a million deliveries don't hold a million copies.
    private var typeNames: Set<ExactKey> = []

    subscript(id: String) -> DeliveryInfo? { deliveries[id] }

    /// Whether `id` was accepted within the dedup TTL (or is still known).
    func remembers(_ id: String) -> Bool { seen[id] != nil }

    var count: Int { deliveries.count }
    var rememberedCount: Int { seen.count }

    // MARK: - Loading from the log

    /// Applies one record read back from the log. Counts are not kept while loading; call
    /// `finishLoading` once every record is in.
    mutating func load(_ record: SpoolRecord, at ref: SpoolRef) {
        switch record {
        case .delivery(let id, let type, let at, let vb, _, _):
            // A later record for the same id is a new delivery accepted after the old one's
            // dedup TTL ran out: it replaces the old one entirely.
            deliveries[id] = DeliveryInfo(id: id, type: shared(type), receivedAt: at, verifiedBy: vb, updatedAt: at, body: ref)
            seen[id] = max(seen[id] ?? 0, at)
        case .state(let change):
            guard var d = deliveries[change.id] else { return }
            d.apply(change)
            d.setLastState(ref, endsAttempt: change.endsAttempt)
            deliveries[change.id] = d
        case .seen(let id, let at):
            seen[id] = max(seen[id] ?? 0, at)
        case .forget(let id):
            deliveries[id] = nil
        case .noop:
            break
        }
    }

    /// Ends loading: runs the host was in the middle of become due again (attempt + 1 follows),
    /// counts are rebuilt. Returns the unfinished deliveries in arrival order, and how many
    /// were interrupted.
    mutating func finishLoading(now: Double) -> (unfinished: [DeliveryInfo], interrupted: Int) {
        var interrupted = 0
        for (id, var d) in deliveries.pairs where d.state == .running || d.state == .fetching {
            d.lastError = d.state == .running ? "interrupted: host stopped while the handler was running"
                                              : "interrupted: host stopped while the result was downloading"
            d.state = .retryScheduled
            d.nextAt = now
            deliveries[id] = d
            interrupted += 1
        }
        let order = deliveries.values.filter { $0.state.isUnfinished }.sorted(by: DeliveryIndex.arrivalOrder)
        unfinished = order.count
        dead = deliveries.values.filter { $0.state == .dead }.count
        return (order, interrupted)
    }

    // MARK: - Changes while running

    /// Records a new delivery (durable at `body`).
    mutating func accept(id: String, type: String, at: Double, verifiedBy: VerifiedBy, body: SpoolRef) {
        deliveries[id] = DeliveryInfo(id: id, type: shared(type), receivedAt: at, verifiedBy: verifiedBy, updatedAt: at, body: body)
        seen[id] = at
        unfinished += 1
    }

    /// Marks a due delivery running with the next attempt number (a `fetched` one continues the
    /// attempt its download started); nil if it is gone or no longer due (an operator purged or
    /// replayed it meanwhile).
    mutating func markRunning(_ id: String, now: Double) -> DeliveryInfo? {
        guard var d = deliveries[id], d.state == .received || d.state == .retryScheduled || d.state == .fetched else { return nil }
        if d.state != .fetched { d.attempt += 1 }
        d.state = .running
        d.nextAt = nil
        d.updatedAt = now
        deliveries[id] = d
        return d
    }

    /// Marks a due delivery as downloading its result: an attempt starts here.
    mutating func markFetching(_ id: String, now: Double) -> DeliveryInfo? {
        guard var d = deliveries[id], d.state == .received || d.state == .retryScheduled else { return nil }
        d.state = .fetching
        d.attempt += 1
        d.nextAt = nil
        d.updatedAt = now
        deliveries[id] = d
        return d
    }

    /// Applies a transition. Every state record carries the attempt-budget base, so the last one
    /// alone (all that compaction keeps) restores it: a change without one gets the current base.
    /// Returns the delivery as it is now, nil if unknown.
    mutating func apply(_ change: inout StateChange) -> DeliveryInfo? {
        guard complete(&change), var d = deliveries[change.id] else { return nil }
        let wasUnfinished = d.state.isUnfinished, wasDead = d.state == .dead
        d.apply(change)
        deliveries[change.id] = d
        unfinished += (d.state.isUnfinished ? 1 : 0) - (wasUnfinished ? 1 : 0)
        dead += (d.state == .dead ? 1 : 0) - (wasDead ? 1 : 0)
        return d
    }

    /// Fills in what a state record carries from the delivery's current state (the budget base,
    /// the result); false if the delivery is unknown. `apply` does this too; a store calls it
    /// first when the record must be durable before the change takes effect in memory.
    func complete(_ change: inout StateChange) -> Bool {
        guard let d = deliveries[change.id] else { return false }
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
        deliveries[id]?.setLastState(ref, endsAttempt: endsAttempt)
    }

    /// Drops a delivery for good; its id stays remembered. False if unknown.
    mutating func forget(_ id: String) -> Bool {
        guard let d = deliveries.removeValue(forKey: id) else { return false }
        if d.state == .dead { dead -= 1 }
        if d.state.isUnfinished { unfinished -= 1 }
        return true
    }

    /// Drops finished deliveries past retention and dedup ids past their TTL; returns how many
    /// entries went.
    @discardableResult
    mutating func prune(now: Double, retention: Double, dedupTTL: Double) -> Int {
        let before = deliveries.count + seen.count
        deliveries.removeAll { _, d in (d.state == .done || d.state == .skipped) && d.updatedAt < now - retention }
        let live = deliveries
        seen.removeAll { id, at in at < now - dedupTTL && live[id] == nil }
        return before - deliveries.count - seen.count
    }

    /// Moves every log position (after compaction rewrote the log).
    mutating func remap(_ move: (SpoolRef) -> SpoolRef) {
        deliveries.updateAll { d in
            var d = d
            d.body = move(d.body)
            d.lastState = d.lastState.map(move)
            if !d.earlierAttempts.isEmpty { d.earlierAttempts = d.earlierAttempts.map(move) }
            return d
        }
    }

    // MARK: - Queries

    /// Deliveries matching the filters, oldest first. `type` matches the type itself and its
    /// family: `batch` matches `batch` and every `batch.*` (as functions are chosen).
    func list(state: DeliveryState? = nil, type: String? = nil) -> [DeliveryInfo] {
        deliveries.values.filter { (state == nil || $0.state == state) && (type == nil || DeliveryIndex.type($0.type, matches: type!)) }
            .sorted(by: DeliveryIndex.arrivalOrder)
    }

    /// `type` is `filter` or in the family `filter.*`.
    static func type(_ type: String, matches filter: String) -> Bool {
        type == filter || (type.utf8.count > filter.utf8.count && type.hasPrefix(filter) && type.utf8.dropFirst(filter.utf8.count).first == UInt8(ascii: "."))
    }

    /// Bytes of the log still needed: every delivery's frame, last state and attempt history,
    /// and a small record per id remembered only for dedup.
    var liveBytes: Int64 {
        let records = deliveries.reduceValues(Int64(0)) {
            $0 + Int64($1.body.length + ($1.lastState?.length ?? 0)) + $1.earlierAttempts.reduce(Int64(0)) { $0 + Int64($1.length) }
        }
        return records + Int64(seen.count - deliveries.count) * 48
    }

    /// Oldest first; the log position breaks ties between equal timestamps.
    static func arrivalOrder(_ a: DeliveryInfo, _ b: DeliveryInfo) -> Bool {
        (a.receivedAt, a.body.offset) < (b.receivedAt, b.body.offset)
    }

    private mutating func shared(_ type: String) -> String { typeNames.insert(ExactKey(type)).memberAfterInsert.string }
}

extension DeliveryInfo {
    mutating func apply(_ c: StateChange) {
        state = c.state
        attempt = c.attempt
        if let b = c.attemptBase { attemptBase = b }
        retryLaterSince = c.retryLaterSince
        nextAt = c.nextAt
        // Finished deliveries can stay in memory for the whole retention period: keep them small.
        // Their error text stays on disk in the state record (`show` reads it from there).
        if c.state == .received || c.state == .done || c.state == .skipped { lastError = nil } else if let e = c.error { lastError = e }
        if let f = c.function { function = f }
        // A result lives from its download until the delivery is finished or replayed; a retry
        // of the function reuses it.
        result = c.state.isUnfinished && c.state != .received ? c.result : nil
        updatedAt = c.at
    }
}
