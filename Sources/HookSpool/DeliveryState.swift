import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// Where a delivery is in its life. Persisted as the string raw value.
public enum DeliveryState: String, Sendable, CaseIterable {
    case received, running, retryScheduled = "retry_scheduled", done, dead, skipped
    /// Its result is being downloaded (an attempt has started).
    case fetching
    /// Its result is on disk; the function runs next, in the same attempt.
    case fetched
    /// Given to another replica by a drain (`hookhost drain --handover`), which stored it
    /// durably: finished here, never run here again.
    case handedOver = "handed_over"

    /// Still owed a run (counts toward the queue depth).
    public var isUnfinished: Bool {
        self == .received || self == .running || self == .retryScheduled || self == .fetching || self == .fetched
    }
}

/// A byte range of the spool file.
public struct SpoolRef: Sendable, Equatable {
    public var offset: Int64
    public var length: Int
}

/// What the host remembers about one delivery in memory; bodies and outputs stay on disk.
public struct DeliveryInfo: Sendable {
    public let id: String
    public let type: String
    public let receivedAt: Double
    public let verifiedBy: VerifiedBy
    public var state: DeliveryState = .received
    /// Attempts started so far.
    public var attempt = 0
    /// Attempts made before the last replay; the attempt budget counts from here.
    public var attemptBase = 0
    /// Since when the function keeps answering "try again later" (exit 75), if it does.
    public var retryLaterSince: Double?
    public var nextAt: Double?
    public var lastError: String?
    public var function: String?
    /// The downloaded result, from `fetched` until the delivery is finished (a retry reuses it).
    public var result: FetchedResult?
    public var updatedAt: Double
    var body: SpoolRef
    var lastState: SpoolRef?
    /// Whether `lastState` ended an attempt (see `StateChange.endsAttempt`).
    var lastIsAttempt = false
    /// The records of earlier attempts' ends, oldest first, at most `maxEarlierAttempts`: with
    /// `lastState` they are the history `show` prints. Empty — no allocation — for a delivery
    /// whose first attempt was its last, the common case that may be kept for weeks.
    var earlierAttempts: [SpoolRef] = []
    /// What admission read from the body (user_metadata, job, result, chain). Kept while the
    /// delivery is whole; the compact form of a finished one drops it (a replay reads it back).
    public var head: DeliveryHead? = nil
    /// Attempt history is bounded: a delivery retried for days keeps its latest 20 attempts.
    static let maxEarlierAttempts = 19

    /// Whether a worker may take it now: new, downloaded, or a retry whose time has come.
    package func isDue(now: Double) -> Bool {
        state == .received || state == .fetched || (state == .retryScheduled && (nextAt ?? 0) <= now)
    }

    /// Where the delivery's last state record now is; an attempt's end it replaces joins the history.
    mutating func setLastState(_ ref: SpoolRef, endsAttempt: Bool) {
        if lastIsAttempt, let old = lastState, old != ref {
            if earlierAttempts.count >= DeliveryInfo.maxEarlierAttempts { earlierAttempts.removeFirst() }
            earlierAttempts.append(old)
        }
        lastState = ref
        lastIsAttempt = endsAttempt
    }

    /// The records of the attempts kept, oldest first.
    var attemptRefs: [SpoolRef] {
        lastIsAttempt ? earlierAttempts + (lastState.map { [$0] } ?? []) : earlierAttempts
    }
}
