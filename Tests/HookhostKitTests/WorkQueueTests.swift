import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The due queue wakes a sleeping worker only when no free one will come for the delivery, and
/// a worker running a function (busy) never holds up what falls due behind it.
@Suite struct WorkQueueTests {
    private func accept(_ b: WorkQueue, _ id: String) { b.due(id) }

    /// Two worker threads taking from `b` (registered, each due id handed to `handle`) until `b.stop()`.
    private func twoWorkers(_ b: WorkQueue, _ handle: @escaping @Sendable (String) -> Void) -> [ThreadHandle] {
        (0..<2).map { i in
            startThread(name: "t\(i)") {
                b.joinWorkers()
                while let id = b.next() { handle(id) }
            }
        }
    }

    @Test func aBurstWakesOneSleeperAndItTakesEverything() {
        let b = WorkQueue(clock: SystemClock())
        let taken = Mutex<[String]>([])
        let burstDone = Mutex(false)
        let threads = twoWorkers(b) { d in
            taken.withLock { $0.append(d) }
            // Awake and free until the burst is in: on a loaded machine the taker could
            // otherwise empty the queue, sleep and be woken again mid-burst (a flake).
            if d == "d0" { _ = eventually { burstDone.withLock { $0 } } }
        }
        #expect(eventually { b.sleepers == 2 })
        for i in 0..<50 { accept(b, "d\(i)") }
        burstDone.withLock { $0 = true }
        #expect(eventually { taken.withLock { $0.count } == 50 })
        // Both were asleep when the burst came: one woke and took it all, the other slept on.
        #expect(b.wakeUps == 1)
        b.stop()
        for t in threads { t.join() }
    }

    @Test func aBusyWorkerHandsWhatIsDueToAnother() {
        let b = WorkQueue(clock: SystemClock())
        let release = Mutex(false), second = Mutex<String?>(nil)
        let threads = twoWorkers(b) { d in
            if d == "long" {
                b.busy { _ = eventually { release.withLock { $0 } } }
            } else {
                second.withLock { $0 = d }
            }
        }
        #expect(eventually { b.sleepers == 2 })
        accept(b, "long")
        #expect(eventually { b.sleepers == 1 })  // one worker took it and is busy with it
        accept(b, "next")
        // The other worker was asleep and no free one was left: it is woken for "next".
        #expect(eventually { second.withLock { $0 } == "next" })
        #expect(b.wakeUps == 2)  // one for "long", one for "next" (not a timed-out sleeper's luck)
        release.withLock { $0 = true }
        b.stop()
        for t in threads { t.join() }
    }
}
