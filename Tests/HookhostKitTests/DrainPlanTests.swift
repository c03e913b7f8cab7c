import Testing
@testable import HookSupport
@testable import HookSpool
@testable import HookDispatch

@Suite struct DrainPlanTests {
    static let now: Double = 1_000

    func delivery(_ id: String, _ state: DeliveryState, nextAt: Double? = nil) -> DeliveryInfo {
        var d = DeliveryInfo(id: id, type: "batch.succeeded", receivedAt: 1, verifiedBy: .hmac, updatedAt: 1, body: SpoolRef(offset: 0, length: 1))
        d.state = state
        d.nextAt = nextAt
        return d
    }

    @Test(arguments: [
        (DeliveryState.done, nil as Double?, false, DrainFate.finished),
        (.dead, nil, false, .finished),
        (.skipped, nil, false, .finished),
        (.handedOver, nil, false, .finished),
        (.running, nil, false, .running),
        (.fetching, nil, false, .running),
        (.received, nil, false, .finishHere),
        (.fetched, nil, false, .finishHere),
        (.retryScheduled, 999, false, .finishHere),
        (.retryScheduled, 1_001, false, .handOver),
        (.received, nil, true, .handOver),
        (.retryScheduled, 999, true, .handOver),
    ])
    func fateAtTheStart(state: DeliveryState, nextAt: Double?, paused: Bool, fate: DrainFate) {
        #expect(DrainPlan.fate(delivery("a", state, nextAt: nextAt), now: Self.now, heldByPause: paused) == fate)
    }

    @Test func atCloseEverythingNotUnderWayIsHandedOver() {
        #expect(DrainPlan.fateAtClose(delivery("a", .received)) == .handOver)
        #expect(DrainPlan.fateAtClose(delivery("a", .retryScheduled, nextAt: 1)) == .handOver)
        #expect(DrainPlan.fateAtClose(delivery("a", .fetched)) == .handOver)
        #expect(DrainPlan.fateAtClose(delivery("a", .running)) == .running)
        #expect(DrainPlan.fateAtClose(delivery("a", .done)) == .finished)
    }

    @Test func aPlanSortsIdsAndLooksUpPausesOnlyForWhatCouldRun() {
        var looked: [String] = []
        let ds = [delivery("due", .received), delivery("paused", .received), delivery("later", .retryScheduled, nextAt: 5_000),
                  delivery("run", .running), delivery("old", .done)]
        let plan = DrainPlan.plan(ds, now: Self.now) { d in looked.append(d.id); return d.id == "paused" }
        #expect(plan[.finishHere] == ["due"])
        #expect(plan[.handOver] == ["paused", "later"])
        #expect(plan[.running] == ["run"])
        #expect(plan[.finished] == ["old"])
        #expect(looked == ["due", "paused"])
    }

    @Test func theWaitEndsOnceNothingAllowedCanStart() {
        let allowed: [DeliveryInfo?] = [delivery("a", .done), nil, delivery("c", .retryScheduled, nextAt: 5_000), delivery("d", .received)]
        #expect(DrainPlan.stillDue(allowed, now: Self.now) { _ in false } == 1)
        #expect(DrainPlan.stillDue(allowed, now: Self.now) { $0.id == "d" } == 0)
        #expect(DrainPlan.stillDue([delivery("a", .handedOver), delivery("b", .running)], now: Self.now) { _ in false } == 0)
    }
}
