import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// A `DeliveryStore` that keeps everything in memory: the same index, queue and dedup rules as
/// the spool, without a file. For tests of what sits on top (dispatch, admin), and tools.
public final class MemoryDeliveryStore: DeliveryStore, DeliveryQueries {
    public let clock: any WallClock
    private let board: DeliveryBoard
    private let queueMax: Int
    /// Bodies and last state changes by delivery id; `nextRef` hands out fake log positions so
    /// arrival order is kept.
    private let stored = Mutex<(bodies: [ExactKey: [UInt8]], jwts: [ExactKey: JWTIdentity], last: [ExactKey: StateChange], attempts: [ExactKey: [StateChange]], nextRef: Int64)>(([:], [:], [:], [:], 0))
    /// Heads as admitted: a replayed delivery kept compact gets its head back from here (the spool reads its record).
    private let heads = Mutex<[ExactKey: DeliveryHead]>([:])
    /// While false, admits answer 503 (a full disk, for tests).
    public let writable = Atomic<Bool>(true)

    public init(clock: any WallClock = SystemClock(), queueMax: Int = 100_000) {
        self.clock = clock
        self.queueMax = queueMax
        board = DeliveryBoard(clock: clock)
    }

    public func admit(id: String, type: String, verifiedBy: VerifiedBy, jwt: JWTIdentity?, head: DeliveryHead, body: [UInt8], completion: @escaping @Sendable (AdmitResult) -> Void) {
        switch board.beginAdmit(id, type: type, job: head.job, verifiedBy: verifiedBy, queueMax: queueMax, completion: completion) {
        case .answered(let r): return completion(r)
        case .waitingForFirstCopy: return
        case .write: break
        }
        let outcome: AdmitResult
        if writable.load(ordering: .relaxed) {
            let ref = stored.withLock { s -> SpoolRef in
                s.bodies[ExactKey(id)] = body
                s.jwts[ExactKey(id)] = jwt
                s.nextRef += 1
                return SpoolRef(offset: s.nextRef, length: body.count)
            }
            heads.withLock { $0[ExactKey(id)] = head }
            board.accepted(id: id, type: type, at: clock.now(), verifiedBy: verifiedBy, head: head, body: ref)
            outcome = .accepted
        } else {
            outcome = .unavailable("store not writable")
        }
        board.endAdmit(id, outcome, completion: completion)
    }

    public func remembers(_ id: String) -> Bool { board.remembers(id) }
    public func jobDuplicate(type: String, job: String?, verifiedBy: VerifiedBy) -> String? {
        board.jobDuplicate(type: type, job: job, verifiedBy: verifiedBy)
    }
    public func feed(into feed: any DueFeed) { board.attach(feed) }
    public func watchDeadLetters(_ watch: any DeadLetterWatch) { deadLetterWatch.withLock { $0 = watch } }
    private let deadLetterWatch = Mutex<(any DeadLetterWatch)?>(nil)

    public func startFetch(_ id: String) -> StartedDelivery? {
        guard let d = board.markFetching(id), let (body, jwt) = stored.withLock({ s in s.bodies[ExactKey(id)].map { ($0, s.jwts[ExactKey(id)]) } }) else { return nil }
        return StartedDelivery(info: d, body: body, jwt: jwt)
    }

    public func start(_ id: String, forRun: Bool) -> StartedDelivery? {
        guard let d = board.markRunning(id), let (body, jwt) = stored.withLock({ s in s.bodies[ExactKey(id)].map { ($0, s.jwts[ExactKey(id)]) } }) else { return nil }
        return StartedDelivery(info: d, body: body, jwt: jwt)
    }

    @discardableResult
    public func finish(_ change: StateChange, _ mode: FinishMode, emitting children: [ChildDelivery]) -> Bool {
        guard let d = board.info(change.id) else { return false }
        let children = children + (deadLetterWatch.withLock { $0 }?.events(for: d, change: change) ?? [])
        for c in children {
            admit(id: c.id, type: c.type, verifiedBy: c.verifiedBy, jwt: nil, head: c.head, body: c.body) { _ in }
        }
        let head = change.state == .received ? heads.withLock { $0[ExactKey(change.id)] } : nil
        guard let change = board.apply(change, head: head) else { return false }
        stored.withLock { s in
            let key = ExactKey(change.id)
            s.last[key] = change
            if change.endsAttempt {
                s.attempts[key, default: []].append(change)
                if s.attempts[key]!.count > DeliveryInfo.maxEarlierAttempts + 1 { s.attempts[key]!.removeFirst() }
            }
        }
        return true
    }

    public var queueDepth: Int { board.unfinished }
    public var deadCount: Int { board.dead }
    public var isWritable: Bool { writable.load(ordering: .relaxed) }
    public func info(_ id: String) -> DeliveryInfo? { board.info(id) }
    public func list(state: DeliveryState?, type: String?) -> [DeliveryInfo] { board.list(state: state, type: type) }
    public func unfinishedSummary() -> UnfinishedSummary { board.unfinishedSummary() }
    public func chain(root: String) -> [DeliveryInfo] { board.chain(root: root) }
    public func page(_ filter: DeliveryFilter, before: DeliveryCursor?, limit: Int) -> DeliveryPage {
        board.page(filter, before: before, limit: limit)
    }
    public func newestByFunction(limit: Int) -> [String: [DeliveryInfo]] { board.newestByFunction(limit: limit) }

    public func show(_ id: String) -> (info: DeliveryInfo, body: [UInt8], jwt: JWTIdentity?, last: StateChange?)? {
        guard let d = info(id) else { return nil }
        let (body, jwt, last) = stored.withLock { ($0.bodies[ExactKey(id)] ?? [], $0.jwts[ExactKey(id)], $0.last[ExactKey(id)]) }
        return (d, body, jwt, last)
    }

    public func attempts(_ id: String) -> [StateChange] { stored.withLock { $0.attempts[ExactKey(id)] ?? [] } }

    public func replay(_ ids: [String]) throws(SpoolError) -> Int {
        guard writable.load(ordering: .relaxed) else { throw SpoolError("write", path: "memory store", code: EIO) }
        let now = clock.now()
        return ids.reduce(0) { n, id in
            guard let d = board.info(id), let change = replayChange(d, at: now) else { return n }
            return n + (finish(change) ? 1 : 0)
        }
    }

    public func forget(_ ids: [String]) throws(SpoolError) -> Int {
        guard writable.load(ordering: .relaxed) else { throw SpoolError("write", path: "memory store", code: EIO) }
        return ids.reduce(0) { n, id in
            guard board.forget(id) else { return n }
            stored.withLock { s in
                let key = ExactKey(id)
                s.bodies[key] = nil; s.jwts[key] = nil; s.last[key] = nil; s.attempts[key] = nil
            }
            heads.withLock { $0[ExactKey(id)] = nil }
            return n + 1
        }
    }
}
