import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The dispatcher's queue of due delivery ids: the store feeds it (`DueFeed`), worker threads
/// take from it, and deliveries that cannot run yet wait in it under a key (a downloader to
/// free up) without holding a worker. It knows ids only; the store stays the truth about each
/// delivery, so a taker checks what it got (`DeliveryInfo.isDue`).
public final class WorkQueue: DueFeed, @unchecked Sendable {  // safe: every mutable field is guarded by `monitor`
    let clock: any WallClock
    private let monitor = Monitor()
    private var queue = RunQueue()
    private var stopped = false
    /// Workers awake and free to take what falls due, counting those already woken for it; a
    /// worker running a function is not free (`busy`). While one is free, a new delivery wakes
    /// nobody: every wake-up is a context switch, and a free worker comes back for it anyway.
    /// Consumers that never registered (`joinWorkers`) make it ≤ 0: they are woken every time.
    private var free = 0
    /// Workers sleeping in `next`.
    private var sleeping = 0
    /// Wake-ups sent and counted in `free` that no sleeper has taken yet.
    private var wakeTickets = 0
    /// Wake-ups sent by `wakeOneIfNeeded` (tests count them through `wakeUps`).
    private var wakesSent = 0
    /// Ids `next` handed out, the same one again counted again (tests read `handOuts`).
    private var handedOut = 0

    public init(clock: any WallClock = SystemClock()) { self.clock = clock }

    /// Under the lock: something fell due; wakes a sleeper unless a free worker will see it.
    private func wakeOneIfNeeded() {
        guard free <= 0, sleeping > wakeTickets else { return }
        free += 1
        wakeTickets += 1
        wakesSent += 1
        monitor.signal()
    }

    // MARK: - Fed by the store

    public func due(_ id: String) {
        monitor.locked {
            queue.push(id)
            wakeOneIfNeeded()
        }
    }

    public func due(_ id: String, at: Double) {
        monitor.locked {
            queue.schedule(id, at: at)
            // A sleeper may be waiting for a later timer than this one.
            monitor.broadcast()
        }
    }

    // MARK: - Taken by workers

    /// Blocks until an id is due and returns it; nil once stopped.
    func next() -> String? {
        monitor.locked {
            while !stopped {
                let now = clock.now()
                if let id = queue.pop(now: now) {
                    handedOut += 1
                    return id
                }
                free -= 1
                sleeping += 1
                monitor.wait(seconds: min(1, max(0.001, (queue.nextTimer ?? now + 1) - now)))
                sleeping -= 1
                // Woken for something (already counted free), or by a timeout or broadcast.
                if wakeTickets > 0 { wakeTickets -= 1 } else { free += 1 }
            }
            return nil
        }
    }

    /// An id due now, without waiting for one; nil when none is, or once stopped.
    func takeDue() -> String? {
        monitor.locked {
            guard !stopped, let id = queue.pop(now: clock.now()) else { return nil }
            handedOut += 1
            return id
        }
    }

    /// Ids due now, in line for a worker.
    var dueCount: Int { monitor.locked { queue.readyCount } }

    /// Counts the calling worker as one more (free) consumer of `next`.
    func joinWorkers() { monitor.locked { free += 1 } }

    /// Runs `body` (a function run: long) with the calling worker counted as busy, first waking
    /// another worker if deliveries are waiting.
    func busy<T>(_ body: () -> T) -> T {
        monitor.locked {
            free -= 1
            if queue.hasReady { wakeOneIfNeeded() }
        }
        defer { monitor.locked { free += 1 } }
        return body()
    }

    /// Keeps a taken id aside until `release(key)` — unless `freed()`, asked under the lock
    /// `release` takes, says what it waits for came free meanwhile: then it is due again at once.
    /// A release that ran between the caller's "no slot" and this park found nothing to release;
    /// without the second look the delivery would wait for the next release, which may never come.
    func park(_ id: String, under key: String, unlessFreed freed: () -> Bool = { false }) {
        monitor.locked { if freed() { queue.push(id) } else { queue.park(id, under: key) } }
    }

    /// Makes the ids parked under `key` due again.
    func release(_ key: String) {
        monitor.locked { if queue.release(key) { monitor.broadcast() } }
    }

    /// Ids parked under `key` now (some may have gone stale meanwhile).
    func parkedCount(under key: String) -> Int { monitor.locked { queue.parkedCount(key) } }

    /// Makes a taken id due again at once.
    func requeue(_ id: String) { due(id) }

    /// Makes `next` return nil (shutdown).
    func stop() { monitor.locked { stopped = true; monitor.broadcast() } }

    var wakeUps: Int { monitor.locked { wakesSent } }
    var handOuts: Int { monitor.locked { handedOut } }
    var sleepers: Int { monitor.locked { sleeping } }
}
