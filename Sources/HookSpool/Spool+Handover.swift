import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Hand-over between replicas: the leaving one reads a delivery out as an envelope and marks it
/// handed over once the peer stored it; the peer adopts it with its history.
extension Spool {
    /// The envelope of an unfinished delivery not under way; nil if it is unknown, finished,
    /// running, or its record is unreadable.
    public func handoverEnvelope(_ id: String, from: HandoverEnvelope.Origin) -> HandoverEnvelope? {
        guard let d = board.info(id), HandoverEnvelope.handedStates.contains(d.state), let (body, jwt, head) = try? readRecord(id) else { return nil }
        return HandoverEnvelope(id: d.id, type: d.type, body: body, receivedAt: d.receivedAt, verifiedBy: d.verifiedBy, jwt: jwt,
                                head: d.head ?? head, state: d.state, attempt: d.attempt, attemptBase: d.attemptBase, nextAt: d.nextAt,
                                retryLaterSince: d.retryLaterSince, function: d.function, lastError: d.lastError, result: d.result,
                                history: attempts(id), from: from)
    }

    /// Marks a delivery the peer stored as handed over, durably: finished here, never run here
    /// again (also after a restart). False if it is gone or no longer waiting (the caller made
    /// sure nothing starts it meanwhile), or the record could not be written.
    public func markHandedOver(_ id: String, note: String) -> Bool {
        guard let d = board.info(id), HandoverEnvelope.handedStates.contains(d.state) else { return false }
        guard let completed = board.complete(StateChange(id: id, state: .handedOver, attempt: d.attempt, at: clock.now(), error: note)) else { return false }
        let result = log.appendSync(SpoolRecord.state(completed).encoded(), placed: notePosition(id, endsAttempt: false))
        Spool.takeEffect(completed, written: result, board: board, logger: logger)
        if case .failure = result { return false }
        return true
    }

    /// Stores a delivery handed over by another replica, like a new delivery (dedup, the queue
    /// limit, durable before `.accepted`), with its attempt history and a note of the hand-over,
    /// all in one record. It is then due as it was there: now, at its retry time, or when its
    /// function is resumed. A downloaded result is not taken over (its file is on the other
    /// replica): it is downloaded again.
    ///
    /// A delivery this host handed over earlier (`handed_over` here) is taken back the same way
    /// — in a rolling restart the peer that took it may drain towards this host in turn, and a
    /// "duplicate" would leave it handed over on both and run nowhere. Its new record replaces the
    /// old one (recovery and compaction keep the latest record of an id); the envelope's history
    /// already holds what happened here before, so nothing is lost and nothing grows: the history
    /// stays capped at the latest attempts. Any other known id is a duplicate.
    public func adopt(_ e: HandoverEnvelope, completion: @escaping @Sendable (AdmitResult) -> Void) {
        switch board.beginAdmit(e.id, queueMax: config.queueMax, takesBack: true, completion: completion) {
        case .answered(let r): return completion(r)
        case .waitingForFirstCopy: return
        case .write: break
        }
        // Read after `beginAdmit` claimed the id: no other adoption of it can run meanwhile.
        let back = board.info(e.id)?.state == .handedOver
        if back { logger.info("spool: taking back a delivery handed over earlier", ["id": .string(e.id), "from": .string(e.from.name)]) }
        let now = clock.now()
        // The result's file is on the other replica: nothing here may point at it.
        var changes = e.history.map { c -> StateChange in var c = c; c.result = nil; return c }
        var note = StateChange(id: e.id, state: .retryScheduled, attempt: e.attempt, at: now,
                               nextAt: e.state == .retryScheduled ? (e.nextAt ?? now) : now, error: e.note(back: back), function: e.function)
        note.attemptBase = e.attemptBase
        note.retryLaterSince = e.retryLaterSince
        changes.append(note)
        let records = [SpoolRecord.delivery(id: e.id, type: e.type, receivedAt: e.receivedAt, verifiedBy: e.verifiedBy, body: e.body,
                                            jwt: e.jwt, head: e.head)] + changes.map { .state($0) }
        guard case .batch(let inner) = SpoolRecord.batch(of: records) else {
            return board.endAdmit(e.id, .unavailable("cannot frame the hand-over"), completion: completion)
        }
        let board = board, changes_ = changes
        log.append(SpoolRecord.batch(inner).encoded(), placed: { ref in
            func at(_ n: SpoolRecord.Nested) -> SpoolRef { SpoolRef(offset: ref.offset + Int64(n.offset), length: n.length) }
            board.adopted(id: e.id, type: e.type, at: e.receivedAt, verifiedBy: e.verifiedBy, head: e.head, body: at(inner[0]),
                          changes: zip(changes_, inner.dropFirst()).map { ($0, at($1)) })
        }, inline: true, done: { result in
            switch result {
            case .success: board.endAdmit(e.id, .accepted, completion: completion)
            case .failure(let err): board.endAdmit(e.id, .unavailable("spool cannot persist: \(err)"), completion: completion)
            }
        })
    }
}

extension DeliveryBoard {
    /// A handed-over delivery is stored: it becomes known with its history, in one lock hold (a
    /// worker must never see it new and due when it is waiting for a retry), then due as it says.
    func adopted(id: String, type: String, at: Double, verifiedBy: VerifiedBy, head: DeliveryHead, body: SpoolRef,
                 changes: [(StateChange, SpoolRef)]) {
        withIndexAndFeed { index, fall in
            index.accept(id: id, type: type, at: at, verifiedBy: verifiedBy, head: head, body: body)
            for (c, ref) in changes {
                var c = c
                _ = index.apply(&c)
                index.setLastState(id, ref, endsAttempt: c.endsAttempt)
            }
            guard let d = index[id] else { return }
            if d.state == .retryScheduled { fall(id, d.nextAt) } else if d.state == .received || d.state == .fetched { fall(id, nil) }
        }
    }
}
