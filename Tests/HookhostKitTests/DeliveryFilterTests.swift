import Testing
@testable import HookSupport
@testable import HookVerify
@testable import HookSpool
@testable import HookNet
@testable import HookHTTP
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct DeliveryFilterTests {
    func delivery(_ id: String, _ type: String, at: Double, state: DeliveryState, function: String?) -> DeliveryInfo {
        var d = DeliveryInfo(id: id, type: type, receivedAt: at, verifiedBy: .hmac, updatedAt: at, body: SpoolRef(offset: 0, length: 0))
        d.state = state
        d.function = function
        return d
    }

    @Test func eachFilterNarrowsAndAllMustHold() {
        let d = delivery("m", "batch.failed", at: 100, state: .dead, function: "batch")
        #expect(DeliveryFilter().matches(d))
        #expect(DeliveryFilter(state: .dead, type: "batch", function: "batch", since: 100, until: 101).matches(d))
        #expect(!DeliveryFilter(state: .done).matches(d))
        #expect(DeliveryFilter(type: "batch.failed").matches(d) && !DeliveryFilter(type: "batch.succeeded").matches(d))
        #expect(!DeliveryFilter(type: "bat").matches(d))  // a family is a whole segment
        #expect(!DeliveryFilter(function: "other").matches(d))
        #expect(!DeliveryFilter(function: "batch").matches(delivery("n", "batch.failed", at: 100, state: .dead, function: nil)))
        // since inclusive, until exclusive: adjacent ranges split a set without overlap
        #expect(DeliveryFilter(since: 100).matches(d) && !DeliveryFilter(since: 100.001).matches(d))
        #expect(!DeliveryFilter(until: 100).matches(d) && DeliveryFilter(until: 100.001).matches(d))
    }

    @Test func aListByFilterIsTheStoresListNarrowed() {
        let store = MemoryDeliveryStore()
        for (i, type) in ["a.x", "a.y", "b.x"].enumerated() { #expect(admitSync(store, "m\(i)", type: type, body: #"{"type":"\#(type)"}"#) == .accepted) }
        #expect(store.list(DeliveryFilter(type: "a")).map(\.id) == ["m0", "m1"])
        #expect(store.list(DeliveryFilter(state: .received, function: "f")).isEmpty)
    }
}
