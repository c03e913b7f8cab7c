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
@Suite struct DeliveryBoardTests {
    private func accept(_ b: DeliveryBoard, _ id: String) {
        b.accepted(id: id, type: "ping", at: 0, verifiedBy: .hmac, body: SpoolRef(offset: 0, length: 1))
    }

    /// Two worker threads taking from `b` (registered, each due delivery marked running, then
    /// handed to `handle`) until `b.stop()`.
    private func twoWorkers(_ b: DeliveryBoard, _ handle: @escaping @Sendable (DeliveryInfo) -> Void) -> [ThreadHandle] {
        (0..<2).map { i in
            startThread(name: "t\(i)") {
                b.joinWorkers()
                while let d = b.nextDue() {
                    _ = b.markRunning(d.id)
                    handle(d)
                }
            }
        }
    }

    @Test func aBurstWakesOneSleeperAndItTakesEverything() {
        let b = DeliveryBoard(clock: SystemClock())
        let taken = Mutex<[String]>([])
        let burstDone = Mutex(false)
        let threads = twoWorkers(b) { d in
            taken.withLock { $0.append(d.id) }
            // Awake and free until the burst is in: on a loaded machine the taker could
            // otherwise empty the queue, sleep and be woken again mid-burst (a flake).
            if d.id == "d0" { _ = eventually { burstDone.withLock { $0 } } }
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
        let b = DeliveryBoard(clock: SystemClock())
        let release = Mutex(false), second = Mutex<String?>(nil)
        let threads = twoWorkers(b) { d in
            if d.id == "long" {
                b.busy { _ = eventually { release.withLock { $0 } } }
            } else {
                second.withLock { $0 = d.id }
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
