import HookSupport
import HookSpool

/// What a drain does with each delivery (pure: the states, the time and the pauses go in).
/// Runs under way finish; deliveries due now whose function is not paused may still start and
/// finish within the wait; everything else unfinished — backing off, waiting after exit 75,
/// paused, arriving from a run meanwhile, not started in time — is handed over (or left).
public enum DrainFate: String, Sendable, Equatable {
    /// Done, dead, skipped or handed over already: nothing to do.
    case finished
    /// Its function (or its download) is under way: it finishes here.
    case running
    /// Due now: it may start and finish here within the wait.
    case finishHere = "finish_here"
    /// Not due within the drain, or the wait ran out: it goes to the peer.
    case handOver = "hand_over"
}

public enum DrainPlan {
    /// The fate of `d` when the drain starts; `heldByPause`: its function is paused.
    public static func fate(_ d: DeliveryInfo, now: Double, heldByPause: Bool) -> DrainFate {
        guard d.state.isUnfinished else { return .finished }
        if d.state == .running || d.state == .fetching { return .running }
        return d.isDue(now: now) && !heldByPause ? .finishHere : .handOver
    }

    /// The fate of `d` once the wait is over and no start is allowed any more.
    public static func fateAtClose(_ d: DeliveryInfo) -> DrainFate {
        guard d.state.isUnfinished else { return .finished }
        return d.state == .running || d.state == .fetching ? .running : .handOver
    }

    /// The ids of `deliveries` by fate at the drain's start, each list in the given order.
    public static func plan(_ deliveries: [DeliveryInfo], now: Double, heldByPause: (DeliveryInfo) -> Bool) -> [DrainFate: [String]] {
        var out: [DrainFate: [String]] = [:]
        for d in deliveries {
            // Pauses are looked up only for what could run: the lookup routes the delivery.
            let held = d.isDue(now: now) && d.state.isUnfinished && heldByPause(d)
            out[fate(d, now: now, heldByPause: held), default: []].append(d.id)
        }
        return out
    }

    /// How many of `allowed` (looked up again; nil: gone) are due and may start: with nothing
    /// running, none left means the wait is over early.
    public static func stillDue(_ allowed: [DeliveryInfo?], now: Double, heldByPause: (DeliveryInfo) -> Bool) -> Int {
        allowed.reduce(0) { n, d in
            guard let d, d.state.isUnfinished, d.isDue(now: now), !heldByPause(d) else { return n }
            return n + 1
        }
    }
}
