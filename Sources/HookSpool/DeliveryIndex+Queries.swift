import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// Read-only questions about the index: listings, gauges, and what compaction must keep.
extension DeliveryIndex {
    /// Deliveries matching the filters, oldest first. `type` matches the type itself and its
    /// family: `batch` matches `batch` and every `batch.*` (as functions are chosen).
    func list(state: DeliveryState? = nil, type: String? = nil) -> [DeliveryInfo] {
        var out = active.values.filter { (state == nil || $0.state == state) && (type == nil || DeliveryIndex.type($0.type, matches: type!)) }
        if state == nil || state == .done || state == .skipped {
            // Decide on the compact record; only what matches is expanded.
            let wanted: UInt8? = state.map { $0 == .done ? 0 : 1 }
            let typeOK = names.map { type == nil || DeliveryIndex.type($0, matches: type!) }
            ids.forEachFinished { p, f in
                if (wanted == nil || f.state == wanted) && typeOK[Int(f.type)] { out.append(expand(f, id: ids.id(at: p))) }
            }
        }
        return out.sorted(by: DeliveryIndex.arrivalOrder)
    }

    /// Unfinished deliveries are always whole, so only `active` is walked.
    func unfinishedSummary() -> UnfinishedSummary {
        active.reduceValues(UnfinishedSummary()) { s, d in
            var s = s
            switch d.state {
            case .running: s.running += 1
            case .retryScheduled: s.retryScheduled += 1
            case .received: s.received += 1
            default: return s
            }
            s.oldestReceivedAt = min(s.oldestReceivedAt ?? d.receivedAt, d.receivedAt)
            return s
        }
    }

    /// `root` and what was emitted below it (emitted ones are always whole), depth first, each
    /// step's children in arrival order: a whole pipeline for the delivery it began with, the steps below it for one of
    /// its events. Ids compare by their bytes (`ExactKey`), as everywhere: `é` and `e\u{301}`
    /// are two deliveries, so two pipelines.
    func chain(root: String) -> [DeliveryInfo] {
        let top = self[root]
        let pipeline = ExactKey(top?.head?.chain?.root ?? root)
        // Every step of the pipeline, under the one that emitted it, in arrival order.
        var children: [ExactKey: [DeliveryInfo]] = [:]
        for d in active.values {
            guard let c = d.head?.chain, ExactKey(c.root) == pipeline else { continue }
            children[ExactKey(c.parent), default: []].append(d)
        }
        for k in children.keys { children[k]!.sort(by: DeliveryIndex.arrivalOrder) }
        // Depth first from `root`, so each step is followed by what it emitted (a tree when
        // indented by depth). Each delivery is listed once: ids are unique, parents one level up.
        var out: [DeliveryInfo] = top.map { [$0] } ?? []
        var stack: [DeliveryInfo] = (children[ExactKey(root)] ?? []).reversed()
        while let d = stack.popLast() {
            out.append(d)
            stack += (children.removeValue(forKey: ExactKey(d.id)) ?? []).reversed()
        }
        return out
    }

    /// `type` is `filter` or in the family `filter.*`.
    static func type(_ type: String, matches given: String) -> Bool { EventType.type(type, matches: given) }

    /// Bytes of the log still needed: every delivery's frame, last state and attempt history,
    /// and a small record per id remembered only for dedup.
    var liveBytes: Int64 {
        (0..<liveChunks).reduce(liveBytesOfIdsOnly) { $0 + liveBytes(chunk: $1) }
    }

    /// `liveBytes` is the sum of these parts, so a caller can walk it chunk by chunk and let the
    /// index lock go in between (a large index took the lock, and the acks, for tens of ms).
    var liveChunks: Int { max(active.shardCount, ids.shardCount) }

    func liveBytes(chunk c: Int) -> Int64 {
        var records: Int64 = 0
        if c < active.shardCount {
            records = active.reduceValues(shard: c, records) {
                $0 + Int64($1.body.length + ($1.lastState?.length ?? 0)) + $1.earlierAttempts.reduce(Int64(0)) { $0 + Int64($1.length) }
            }
        }
        if c < ids.shardCount { ids.forEachFinished(shard: c) { _, f in records += Int64(f.bodyLength) + Int64(f.lastLength) } }
        return records
    }

    /// The small record per id remembered only for dedup.
    var liveBytesOfIdsOnly: Int64 { Int64(ids.count - count) * 48 }

    /// What compaction copies for every delivery, oldest first: its frame, last state record and
    /// attempt history.
    func liveRecords() -> [(body: SpoolRef, last: SpoolRef?, earlier: [SpoolRef])] {
        var all: [(at: Double, body: SpoolRef, last: SpoolRef?, earlier: [SpoolRef])] = active.values.map { ($0.receivedAt, $0.body, $0.lastState, $0.earlierAttempts) }
        all.reserveCapacity(count)
        ids.forEachFinished { _, f in
            all.append((f.receivedAt, SpoolRef(offset: f.bodyOffset, length: Int(f.bodyLength)),
                        f.flags & FinishedDelivery.hasLast != 0 ? SpoolRef(offset: f.lastOffset, length: Int(f.lastLength)) : nil, []))
        }
        all.sort { ($0.at, $0.body.offset) < ($1.at, $1.body.offset) }
        return all.map { ($0.body, $0.last, $0.earlier) }
    }

    /// Calls `body` with every id remembered only for dedup (no delivery left) and when it was seen.
    func forEachRememberedOnly<E: Error>(_ body: (String, Double) throws(E) -> Void) throws(E) {
        try ids.forEach { (p, e) throws(E) in if !e.hasDelivery { try body(ids.id(at: p), e.seenAt) } }
    }

    /// Oldest first; the log position breaks ties between equal timestamps.
    static func arrivalOrder(_ a: DeliveryInfo, _ b: DeliveryInfo) -> Bool {
        (a.receivedAt, a.body.offset) < (b.receivedAt, b.body.offset)
    }
}
