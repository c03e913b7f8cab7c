import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Which deliveries are due: a FIFO of ready ids, a timer heap of scheduled retries, and lists of
/// deliveries parked per key (a function at its concurrency limit) until that key is released.
/// Pure: ids only, time passed in. Entries may be stale; the index is the truth and callers
/// re-check each popped id against it.
struct RunQueue {
    private var ready = FIFO<String>()
    private var timers = WakeHeap<String>()
    private var parked: [String: [String]] = [:]

    /// Due now.
    mutating func push(_ id: String) { ready.push(id) }

    /// Due at `at`.
    mutating func schedule(_ id: String, at: Double) { timers.push(at, id) }

    /// The next id due at `now`, moving expired timers to the ready queue first.
    mutating func pop(now: Double) -> String? {
        while let (_, id) = timers.popDue(now) { ready.push(id) }
        return ready.pop()
    }

    /// Whether an id is due now without waiting for a timer.
    var hasReady: Bool { !ready.isEmpty }
    /// Ids due now, without the timers.
    var readyCount: Int { ready.count }

    /// When the earliest scheduled retry falls due.
    var nextTimer: Double? { timers.next }

    /// Keeps `id` aside until `release(key)`: a worker that took it could not run it yet.
    mutating func park(_ id: String, under key: String) { parked[key, default: []].append(id) }

    /// Makes everything parked under `key` due again; false if nothing was.
    mutating func release(_ key: String) -> Bool {
        guard let ids = parked.removeValue(forKey: key) else { return false }
        for id in ids { ready.push(id) }
        return true
    }

    /// Deliveries parked under `key` now.
    func parkedCount(_ key: String) -> Int { parked[key]?.count ?? 0 }

    /// Deliveries parked now (all keys).
    var parkedCount: Int { parked.values.reduce(0) { $0 + $1.count } }
}
