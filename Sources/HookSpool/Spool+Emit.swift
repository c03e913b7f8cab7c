import HookSupport
import HookNet
import HookHTTP
import HookVerify

extension Spool {
    /// A parent's state change and the events its run emitted, as one record (`SpoolRecord.batch`):
    /// one CRC over all of it, so a crash or power cut keeps either the change and every child or
    /// none of them — then the parent runs again and emits the same ids. Durable before it returns.
    func commit(_ change: StateChange, emitting children: [ChildDelivery]) -> Bool {
        guard board.info(change.id) != nil else { return false }
        // Each child is admitted like a delivery (dedup, copies racing it wait), but never refused
        // for a full queue: its parent was accepted, and refusing would only run the parent again.
        var taken: [ChildDelivery] = []
        for c in children {
            if case .write = board.beginAdmit(c.id, queueMax: .max, completion: { _ in }) { taken.append(c) }
        }
        guard let completed = board.complete(change) else {
            for c in taken { board.endAdmit(c.id, .unavailable("parent gone"), completion: { _ in }) }
            return false
        }
        let now = clock.now()
        var records = taken.map { c in
            SpoolRecord.delivery(id: c.id, type: c.type, receivedAt: now, verifiedBy: c.verifiedBy, body: c.body, head: c.head)
        }
        records.append(.state(completed))
        guard case .batch(let inner) = SpoolRecord.batch(of: records) else { return false }
        let board = board, taken_ = taken
        let parentPlaced = notePosition(change.id, endsAttempt: completed.endsAttempt)
        let result = log.appendSync(SpoolRecord.batch(inner).encoded(), placed: { ref in
            for (c, n) in zip(taken_, inner) {
                board.accepted(id: c.id, type: c.type, at: now, verifiedBy: c.verifiedBy, head: c.head,
                               body: SpoolRef(offset: ref.offset + Int64(n.offset), length: n.length))
            }
            let last = inner[inner.count - 1]
            parentPlaced(SpoolRef(offset: ref.offset + Int64(last.offset), length: last.length))
        })
        let outcome: AdmitResult
        switch result {
        case .success: outcome = .accepted
        case .failure(let e): outcome = .unavailable("spool cannot persist: \(e)")
        }
        for c in taken { board.endAdmit(c.id, outcome, completion: { _ in }) }
        Spool.takeEffect(completed, written: result, board: board, logger: logger)
        return true
    }
}
