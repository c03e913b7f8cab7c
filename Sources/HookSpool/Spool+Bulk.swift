import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Operator actions on many deliveries at once (replay and purge by filter), each one durable
/// write: records committed together as `SpoolRecord.batch`, so after a crash either all of an
/// action's records are there or none — an operator who saw "replayed 50 000" never finds a
/// third of them dead again — and one fdatasync instead of one per delivery.
extension Spool {
    /// Records per batch frame: a frame holds at most `SpoolRecord.maxPayload` (64 MiB), and a
    /// state record with a long id is a few hundred bytes. Larger actions are several frames in
    /// one write (still one fdatasync; a crash in that write can keep a prefix of the frames).
    static let bulkRecordsPerFrame = 50_000

    public func replay(_ ids: [String]) throws(SpoolError) -> Int { try replay(ids, recordsPerFrame: Spool.bulkRecordsPerFrame) }

    func replay(_ ids: [String], recordsPerFrame: Int) throws(SpoolError) -> Int {
        let now = clock.now()
        var changes: [StateChange] = []
        for id in ids {
            guard let d = board.info(id), let change = replayChange(d, at: now), let completed = board.complete(change) else { continue }
            changes.append(completed)
        }
        guard !changes.isEmpty else { return 0 }
        // A delivery kept compact lost its head: the router needs it back (read before the write,
        // so nothing can run it without one).
        let heads = changes.map { headFromDisk($0.id) }
        let placed = changes.map { notePosition($0.id, endsAttempt: false) }
        try appendBulk(changes.map { SpoolRecord.state($0) }, placed: placed, recordsPerFrame: recordsPerFrame)
        // Durable first, then due: a worker's next record for one of them must follow this one.
        for (change, head) in zip(changes, heads) { _ = board.apply(change, head: head) }
        return changes.count
    }

    public func forget(_ ids: [String]) throws(SpoolError) -> Int {
        let known = ids.filter { board.info($0) != nil }
        guard !known.isEmpty else { return 0 }
        try appendBulk(known.map { SpoolRecord.forget(id: $0) }, placed: nil, recordsPerFrame: Spool.bulkRecordsPerFrame)
        return known.reduce(0) { $0 + (board.forget($1) ? 1 : 0) }
    }

    /// Appends `records` as batch frames in one write and waits until it is durable; `placed[i]`
    /// learns where record i landed. A single record is written plain (it is atomic by itself).
    private func appendBulk(_ records: [SpoolRecord], placed: [SpoolLog.Placed]?, recordsPerFrame: Int) throws(SpoolError) {
        var bytes: [UInt8] = []
        // Where each record starts in `bytes`, and its length.
        var spans: [(offset: Int, length: Int)] = []
        spans.reserveCapacity(records.count)
        if records.count == 1 {
            bytes = records[0].encoded()
            spans = [(0, bytes.count)]
        } else {
            var start = 0
            while start < records.count {
                let chunk = Array(records[start..<min(records.count, start + max(1, recordsPerFrame))])
                guard case .batch(let inner) = SpoolRecord.batch(of: chunk) else { break }
                let frameStart = bytes.count
                bytes += SpoolRecord.batch(inner).encoded()
                spans += inner.map { (frameStart + $0.offset, $0.length) }
                start += chunk.count
            }
        }
        let where_ = spans
        let result = log.appendSync(bytes, placed: placed.map { placed in
            { @Sendable ref in
                for (p, span) in zip(placed, where_) { p(SpoolRef(offset: ref.offset + Int64(span.offset), length: span.length)) }
            }
        })
        if case .failure(let e) = result {
            logger.error("spool: bulk action not persisted; nothing changed", ["records": .int(records.count), "error": .string(e.description)])
            throw e
        }
    }
}
