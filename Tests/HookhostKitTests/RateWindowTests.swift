import Testing
@testable import HookDispatch
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookhostKit

@Suite struct RateWindowTests {
    /// `hasRoom` mutates (it drops what left the window), which `#expect` cannot call.
    func room(_ w: inout RateWindow, now: Double, limit: Int, per: Double) -> Bool { w.hasRoom(now: now, limit: limit, per: per) }

    @Test func pendingRunsHoldPlacesUntilTheyStartOrAreAbandoned() {
        var w = RateWindow()
        w.take()
        w.take()
        #expect(!room(&w, now: 0, limit: 2, per: 1))
        #expect(w.nextExpiry(per: 1) == nil)  // nothing counted yet: only a start or abandon changes it
        w.abandon()
        #expect(room(&w, now: 0, limit: 2, per: 1))
        w.started(at: 0.5, per: 1)
        #expect(RateWindow.hold(1) == 1 + 1.0 / 64)  // `per` and one slice
        #expect(w.nextExpiry(per: 1) == 0.5 + RateWindow.hold(1))
        #expect(room(&w, now: 1.5, limit: 1, per: 1) == false)
        #expect(room(&w, now: 0.5 + RateWindow.hold(1), limit: 1, per: 1))
        #expect(w.isEmpty)
    }

    /// A million starts in one window take a bounded number of slices, and each counts from the
    /// latest start in its slice: later than it happened, never earlier.
    @Test func memoryIsBoundedAndStartsCountNoEarlierThanTheyHappened() {
        var w = RateWindow()
        let per = 10.0
        for i in 0..<1_000_000 {
            w.take()
            w.started(at: Double(i) * per / 1_000_000, per: per)
        }
        #expect(w.sliceCount <= RateWindow.slices + 1)
        #expect(w.counted == 1_000_000)
        // The first start (at 0) has not left at `hold`: its slice counts it from the slice's latest.
        let slice = per / Double(RateWindow.slices)
        #expect(!room(&w, now: RateWindow.hold(per), limit: 1_000_000, per: per))
        #expect(room(&w, now: RateWindow.hold(per) + slice, limit: 1_000_000, per: per))
        w.expire(now: 2 * RateWindow.hold(per), per: per)
        #expect(w.isEmpty && w.sliceCount == 0)
    }

    @Test func startsReportedOutOfOrderNeverMakeASliceLeaveEarlier() {
        var w = RateWindow()
        w.take(); w.started(at: 5, per: 1)
        w.take(); w.started(at: 7, per: 1)  // a new slice
        w.take(); w.started(at: 6, per: 1)  // reported late: joins the latest slice
        #expect(w.nextExpiry(per: 1) == 5 + RateWindow.hold(1))
        w.expire(now: 5 + RateWindow.hold(1), per: 1)
        #expect(w.counted == 2)
        #expect(w.emptyAt(per: 1) == 7 + RateWindow.hold(1))
    }
}
