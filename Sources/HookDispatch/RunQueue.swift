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
    private var ready = ReadyQueue()
    private var timers = TimerHeap()
    private var parked: [String: [String]] = [:]

    /// Due now.
    mutating func push(_ id: String) { ready.push(id) }

    /// Due at `at`.
    mutating func schedule(_ id: String, at: Double) { timers.push(at, id) }

    /// The next id due at `now`, moving expired timers to the ready queue first.
    mutating func pop(now: Double) -> String? {
        while let id = timers.popDue(now) { ready.push(id) }
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

/// FIFO of delivery ids ready to run, amortised O(1) at both ends.
package struct ReadyQueue {
    package init() {}
    private var items: [String] = []
    private var head = 0

    package var isEmpty: Bool { head == items.count }
    package var count: Int { items.count - head }

    package mutating func push(_ id: String) { items.append(id) }

    package mutating func pop() -> String? {
        guard head < items.count else { return nil }
        let id = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return id
    }
}

/// Min-heap of (due time, id) for scheduled retries.
struct TimerHeap {
    private var heap: [(at: Double, id: String)] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var next: Double? { heap.first?.at }

    mutating func push(_ at: Double, _ id: String) {
        heap.append((at, id))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard heap[i].at < heap[p].at else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(_ now: Double) -> String? {
        guard let first = heap.first, first.at <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, heap[l].at < heap[m].at { m = l }
                if r < heap.count, heap[r].at < heap[m].at { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return first.id
    }
}
