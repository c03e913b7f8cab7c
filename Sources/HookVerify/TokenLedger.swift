import Synchronization
import HookSupport
import HookNet
import HookHTTP

/// The SHA-256 identifying one JWT (`CompactJWS.digest`), held as four words: a million of
/// them are a million dictionary keys, not a million arrays.
public struct TokenDigest: Hashable, Sendable {
    let a: UInt64, b: UInt64, c: UInt64, d: UInt64

    /// From 32 bytes (a SHA-256); other lengths are padded or cut, which no caller does.
    public init(_ bytes: [UInt8]) {
        func word(_ i: Int) -> UInt64 {
            (0..<8).reduce(0) { $0 << 8 | UInt64(i * 8 + $1 < bytes.count ? bytes[i * 8 + $1] : 0) }
        }
        a = word(0); b = word(1); c = word(2); d = word(3)
    }

    public var bytes: [UInt8] { [a, b, c, d].flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (56 - 8 * $0)) } } }
}

/// One JWT used for one delivery: the token, the `webhook-id` it came with, and until when the
/// token could verify (after that nobody can use it again, so it need not be remembered).
public struct TokenUse: Sendable, Equatable {
    public let digest: TokenDigest
    public let id: String
    public let until: Double

    public init(digest: TokenDigest, id: String, until: Double) {
        self.digest = digest
        self.id = id
        self.until = until
    }
}

/// What the replay memory says about a token used for a delivery.
public enum TokenBinding: Sendable, Equatable {
    /// Not seen before: now bound to this delivery.
    case first
    /// Seen with the same `webhook-id`: a retry, answered as usual (a duplicate if admitted).
    case sameDelivery
    /// Seen with another `webhook-id`: a replay.
    case otherDelivery
}

/// Which `webhook-id` each JWT was used with, until the token expires. Pure: time is passed in.
struct TokenLedger {
    private(set) var entries: [TokenDigest: (id: String, until: Double)] = [:]

    var count: Int { entries.count }

    /// Binds the token to `use.id` unless it is bound to a delivery already. An entry past its
    /// end counts as gone (the clock may have been set back, or pruning not run yet).
    mutating func bind(_ use: TokenUse, now: Double) -> TokenBinding {
        if let e = entries[use.digest], e.until >= now {
            return e.id.utf8.elementsEqual(use.id.utf8) ? .sameDelivery : .otherDelivery
        }
        entries[use.digest] = (use.id, use.until)
        return .first
    }

    /// A use read back from the log: kept if the token could still verify. The first binding
    /// read wins, as it did when it was made.
    mutating func load(_ use: TokenUse, now: Double) {
        guard use.until >= now else { return }
        if let e = entries[use.digest], e.until >= now { return }
        entries[use.digest] = (use.id, use.until)
    }

    /// Forgets tokens that can no longer verify; returns how many.
    @discardableResult
    mutating func prune(now: Double) -> Int {
        let before = entries.count
        entries = entries.filter { $0.value.until >= now }
        return before - entries.count
    }

    /// The uses still remembered (what a compaction must write again).
    func live(now: Double) -> [TokenUse] {
        entries.compactMap { $0.value.until >= now ? TokenUse(digest: $0.key, id: $0.value.id, until: $0.value.until) : nil }
    }
}

/// Refuses a JWT that already authorized a delivery with another `webhook-id`.
public protocol TokenReplayGuard: Sendable {
    func bind(_ use: TokenUse) -> TokenBinding
}

/// The replay memory: a `TokenLedger` behind a lock, with each new binding handed to `persist`
/// (the spool writes it ahead of the delivery's record, so after a restart it is still known).
public final class ReplayMemory: TokenReplayGuard {
    private let ledger = Mutex(TokenLedger())
    private let clock: any WallClock
    private let persist: @Sendable (TokenUse) -> Void

    public init(clock: any WallClock = SystemClock(), persist: @escaping @Sendable (TokenUse) -> Void = { _ in }) {
        self.clock = clock
        self.persist = persist
    }

    public func bind(_ use: TokenUse) -> TokenBinding {
        let now = clock.now()
        // Persisted under the lock: a retry of the same delivery that finds the binding must not
        // get its own delivery record into the log ahead of the binding's. `persist` only queues
        // a record (the log's queue lock nests inside this one, never the other way round).
        return ledger.withLock { l in
            let r = l.bind(use, now: now)
            if r == .first { persist(use) }
            return r
        }
    }

    /// A binding recovered from the log.
    public func load(_ use: TokenUse, now: Double) { ledger.withLock { $0.load(use, now: now) } }

    @discardableResult
    public func prune() -> Int {
        let now = clock.now()
        return ledger.withLock { $0.prune(now: now) }
    }

    public func live() -> [TokenUse] {
        let now = clock.now()
        return ledger.withLock { $0.live(now: now) }
    }

    public var count: Int { ledger.withLock { $0.count } }
}
