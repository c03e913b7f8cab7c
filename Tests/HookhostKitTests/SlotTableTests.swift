import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct SlotTableTests {
    /// Claims for each id in turn; whether each got a slot.
    private func claims(_ t: inout SlotTable, _ name: String, limit: Int, _ ids: [String]) -> [Bool] {
        ids.map { t.claim(name, limit: limit, for: $0) }
    }

    /// A release as one list: the delivery handed the slot (or "-"), then those made due.
    private func release(_ t: inout SlotTable, _ name: String) -> [String] {
        let r = t.release(name)
        return [r.handOver ?? "-"] + r.due
    }

    @Test func slotsUpToTheLimitThenDeliveriesWait() {
        var t = SlotTable()
        let got = claims(&t, "f", limit: 2, ["a", "b", "c", "d"])
        #expect(got == [true, true, false, false])
        let other = claims(&t, "g", limit: 2, ["x"])  // another function's slots are its own
        #expect(other == [true])
        #expect(t.taken("f") == 2 && t.waitingCount("f") == 2)
    }

    @Test func aSlotGivenBackGoesToTheLongestWaitingAndStaysTaken() {
        var t = SlotTable()
        _ = claims(&t, "f", limit: 1, ["a", "b", "c"])
        let first = release(&t, "f")
        #expect(first == ["b"])
        #expect(t.taken("f") == 1 && t.waitingCount("f") == 1)
        let late = claims(&t, "f", limit: 1, ["d"])  // the handed-over slot is not free
        #expect(late == [false])
        var order: [[String]] = []
        for _ in 0..<3 { order.append(release(&t, "f")) }
        #expect(order == [["c"], ["d"], ["-"]])
        #expect(t.taken("f") == 0)
        let again = claims(&t, "f", limit: 1, ["e"])
        #expect(again == [true])
    }

    @Test func aRaisedLimitMakesAsManyWaitingDueAsThereAreFreeSlots() {
        var t = SlotTable()
        _ = claims(&t, "f", limit: 1, ["a", "b", "c", "d", "e"])
        let raised = claims(&t, "f", limit: 3, ["n"])  // the sidecar now says 3
        #expect(raised == [true])
        let r = release(&t, "f")
        #expect(r == ["b", "c"])  // b holds a's slot; c is due and claims the third itself
        #expect(t.taken("f") == 2 && t.waitingCount("f") == 2)

        var lifted = SlotTable()
        _ = claims(&lifted, "f", limit: 1, ["a", "b", "c", "d"])
        _ = claims(&lifted, "f", limit: Int.max, ["n"])
        let all = release(&lifted, "f")
        #expect(all == ["b", "c", "d"])
    }

    @Test func aLoweredLimitHandsOverOnlyOnceBelowIt() {
        var t = SlotTable()
        _ = claims(&t, "f", limit: 3, ["a", "b", "c"])
        let lowered = claims(&t, "f", limit: 1, ["w"])
        #expect(lowered == [false])
        var order: [[String]] = []
        for _ in 0..<3 { order.append(release(&t, "f")) }
        #expect(order == [["-"], ["-"], ["w"]])
        #expect(t.taken("f") == 1)
    }

    @Test func moreGivenBackThanTakenIsNotNegative() {
        var t = SlotTable()
        let r = release(&t, "f")
        #expect(r == ["-"])
        #expect(t.taken("f") == 0)
        let got = claims(&t, "f", limit: 1, ["a"])
        #expect(got == [true])
    }
}

extension SlotTableTests {
    @Test func aRaisedLimitUnblocksAsManyAsItFreesAndNoMore() {
        var t = SlotTable()
        _ = claims(&t, "f", limit: 1, ["a", "b", "c", "d", "e"])
        #expect(t.waitedFor == ["f"])
        #expect(t.unblock("f", limit: 1).isEmpty)  // unchanged: nothing to do
        #expect(t.unblock("f", limit: 3) == ["b", "c"])  // a holds one of the three
        #expect(t.waitingCount("f") == 2 && t.taken("f") == 1)
        // The unblocked hold no slot: they claim as any due delivery does.
        #expect(claims(&t, "f", limit: 3, ["b", "c"]) == [true, true])
        #expect(t.unblock("f", limit: 3).isEmpty)
        #expect(release(&t, "f") == ["d"])
    }

    @Test func aFunctionGoneUnblocksEveryoneWaitingForIt() {
        var t = SlotTable()
        _ = claims(&t, "f", limit: 1, ["a", "b", "c"])
        _ = claims(&t, "g", limit: 1, ["x", "y"])
        #expect(t.unblock("f", limit: nil) == ["b", "c"])
        #expect(t.waitingCount("f") == 0 && t.waitingCount("g") == 1)
        #expect(t.waitedFor == ["g"])
        #expect(release(&t, "f") == ["-"])  // a's slot comes back with nobody left to take it
        #expect(t.taken("f") == 0)
    }
}
