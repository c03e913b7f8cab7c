import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookSpool

/// Pages of the index, newest first by cursor (the console's list), against the whole sorted
/// listing they replace.
@Suite struct DeliveryPageTests {
    /// An index of `n` deliveries in every kind of storage: done and skipped ones compact, dead and
    /// unfinished ones whole; arrival times with ties (the log position breaks them).
    static func index(_ n: Int) -> DeliveryIndex {
        var ix = DeliveryIndex()
        var rng = SplitMix64(state: 42)
        for i in 0..<n {
            let id = "d\(i)", at = Double(1_000 + Int.random(in: 0..<(n / 3 + 1), using: &rng))
            ix.accept(id: id, type: ["batch.succeeded", "batch.failed", "ping"][i % 3], at: at, verifiedBy: .hmac, body: SpoolRef(offset: Int64(i * 100), length: 10))
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: continue  // received
            case 1: _ = ix.markRunning(id, now: at)
            default:
                _ = ix.markRunning(id, now: at)
                let final: DeliveryState = [.done, .dead, .skipped][Int.random(in: 0..<3, using: &rng)]
                var c = StateChange(id: id, state: final, attempt: 1, at: at + 1, error: final == .dead ? "exited with status 1" : nil,
                                    function: final == .skipped ? nil : ["f1", "f2"][i % 2])
                _ = ix.apply(&c)
            }
        }
        return ix
    }

    static func reference(_ ix: DeliveryIndex, _ f: DeliveryFilter) -> [String] {
        ix.list(state: f.state, type: f.type).filter(f.matches).reversed().map(\.id)
    }

    @Test(arguments: [DeliveryFilter(), DeliveryFilter(state: .done), DeliveryFilter(state: .dead), DeliveryFilter(state: .received),
                      DeliveryFilter(type: "batch"), DeliveryFilter(function: "f1"), DeliveryFilter(state: .done, function: "f2"),
                      DeliveryFilter(function: "nobody"), DeliveryFilter(since: 1_020, until: 1_060), DeliveryFilter(state: .skipped, type: "ping")])
    func walkingEveryPageGivesTheWholeListingNewestFirstOnce(_ filter: DeliveryFilter) {
        let ix = Self.index(400)
        let want = Self.reference(ix, filter)
        for limit in [1, 7, 50, 1000] {
            var got: [String] = []
            var before: DeliveryCursor?
            var pages = 0
            repeat {
                let p = ix.page(filter, before: before, limit: limit)
                #expect(p.matched == want.count)
                #expect(p.deliveries.count <= limit)
                got += p.deliveries.map(\.id)
                before = p.next
                pages += 1
            } while before != nil && pages <= 500
            #expect(got == want, "limit \(limit)")
        }
    }

    @Test func aDeliveryAcceptedMeanwhileDoesNotShiftTheNextPage() {
        var ix = Self.index(60)
        let first = ix.page(DeliveryFilter(), before: nil, limit: 10)
        ix.accept(id: "new", type: "ping", at: 9_999, verifiedBy: .hmac, body: SpoolRef(offset: 999_999, length: 10))
        let second = ix.page(DeliveryFilter(), before: first.next, limit: 10)
        let whole = Self.reference(ix, DeliveryFilter())
        #expect(whole.first == "new")
        #expect(second.deliveries.map(\.id) == Array(whole[11..<21]))
        #expect(ix.page(DeliveryFilter(), before: nil, limit: 1).deliveries.map(\.id) == ["new"])
    }

    @Test func theCursorTextReadsBackExactlyAndNothingElseIsACursor() {
        let c = DeliveryCursor(receivedAt: 1_765_120_000.123456, offset: 4096)
        #expect(DeliveryCursor(text: c.text) == c)
        for bad in ["", "1", "1_", "_1", "x_1", "1_-1", "0x10_1", "1_2_3", "inf_1", "nan_1", "1e400_1"] {
            #expect(DeliveryCursor(text: bad) == nil, "\(bad)")
        }
    }

    @Test func theMemoryStoreAndTheDefaultAgree() {
        let store = MemoryDeliveryStore(clock: ManualClock(1_000))
        for i in 0..<30 { store.admit(id: "m\(i)", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in } }
        let p = store.page(DeliveryFilter(), before: nil, limit: 12)
        let q = DeliveryPage.of(store.list(DeliveryFilter()), before: nil, limit: 12)
        #expect(p.deliveries.map(\.id) == q.deliveries.map(\.id))
        #expect(p.next == q.next && p.matched == 30)
        #expect(p.deliveries.first?.id == "m29")
    }
}

/// Every function's newest deliveries in one pass (the console's functions view), against a
/// page per function (what it asked before: one scan each).
@Suite struct DeliveryIndexNewestByFunctionTests {
    @Test(arguments: [1, 5, 1000])
    func onePassGivesWhatAPagePerFunctionGives(_ limit: Int) {
        var ix = DeliveryPageTests.index(400)
        // One unfinished with a function too (whole, not compact): a retry waiting.
        ix.accept(id: "r1", type: "ping", at: 5_000, verifiedBy: .hmac, body: SpoolRef(offset: 500_000, length: 10))
        _ = ix.markRunning("r1", now: 5_000)
        var c = StateChange(id: "r1", state: .retryScheduled, attempt: 1, at: 5_001, error: "exited with status 75", function: "f2")
        c.nextAt = 6_000
        _ = ix.apply(&c)
        let got = ix.newestByFunction(limit: limit)
        #expect(Set(got.keys) == ["f1", "f2"])
        for f in ["f1", "f2"] {
            let want = ix.page(DeliveryFilter(function: f), before: nil, limit: limit).deliveries.map(\.id)
            #expect(got[f]?.map(\.id) == want, "\(f) limit \(limit)")
            #expect(!want.isEmpty)
        }
        #expect(got["f2"]?.first?.id == "r1")
    }
}
