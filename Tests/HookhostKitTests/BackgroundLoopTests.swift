import Synchronization
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct BackgroundLoopTests {
    @Test func aPokeRunsATickAtOnceAndStopJoinsTheThread() {
        let ticks = Atomic<Int>(0)
        let loop = BackgroundLoop(name: "loop-test", every: { 3600 }) { _ in ticks.add(1, ordering: .relaxed) }
        loop.start()
        loop.poke()
        #expect(eventually { ticks.load(ordering: .relaxed) == 1 })
        let t0 = monotonicNow()
        loop.stop()  // wakes the hour-long wait at once
        #expect(monotonicNow() - t0 < 30)
        let after = ticks.load(ordering: .relaxed)
        loop.poke()  // a stopped loop runs nothing more
        let now = ticks.load(ordering: .relaxed)
        #expect(now == after)
        #expect(loop.isStopping)
    }

    @Test func aPauseInsideATickEndsWhenTheLoopStops() {
        let paused = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
        let loop = BackgroundLoop(name: "loop-pause", every: { 0 }) { loop in
            paused.store(true, ordering: .relaxed)
            let went = loop.pause(3600)
            finished.store(!went, ordering: .relaxed)
        }
        loop.start()
        #expect(eventually { paused.load(ordering: .relaxed) })
        loop.stop()
        let ended = finished.load(ordering: .relaxed)
        #expect(ended)
    }

    @Test func theIntervalIsReadBeforeEachWait() {
        let reads = Atomic<Int>(0)
        let ticks = Atomic<Int>(0)
        let loop = BackgroundLoop(name: "loop-iv", every: { reads.add(1, ordering: .relaxed); return 0.001 }) { _ in ticks.add(1, ordering: .relaxed) }
        loop.start()
        #expect(eventually { ticks.load(ordering: .relaxed) >= 3 })
        loop.stop()
        let n = reads.load(ordering: .relaxed)
        #expect(n >= 3)
    }
}
