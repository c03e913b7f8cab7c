import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct RunQueueTests {
    @Test func readyFirstThenDueTimersInOrder() {
        var q = RunQueue()
        q.schedule("late", at: 20)
        q.schedule("early", at: 10)
        q.push("now")
        #expect(q.pop(now: 5) == "now")
        #expect(q.pop(now: 5) == nil)
        #expect(q.nextTimer == 10)
        #expect(q.pop(now: 25) == "early")
        #expect(q.pop(now: 25) == "late")
    }

    @Test func parkedDeliveriesComeBackOnlyWithTheirKey() {
        var q = RunQueue()
        q.park("a1", under: "a")
        q.park("b1", under: "b")
        q.park("a2", under: "a")
        #expect(q.parkedCount == 3)
        let releasedA = q.release("a"), releasedC = q.release("c")
        #expect(releasedA && !releasedC)
        let popped = [q.pop(now: 0), q.pop(now: 0), q.pop(now: 0)]
        #expect(popped == ["a1", "a2", nil])
        #expect(q.parkedCount == 1)
    }
}

@Suite struct DeliveryIndexTests {
    static func ref(_ o: Int64) -> SpoolRef { SpoolRef(offset: o, length: 10) }

    /// `--root` of an emitted event is the steps below it (it showed the event alone), and ids
    /// compare by bytes: `é` (composed) and `e` + U+0301 are two pipelines, not one.
    @Test func chainOfAnEmittedEventIsWhatDescendsFromItAndIdsCompareByBytes() {
        var ix = DeliveryIndex()
        var at = 0.0
        func add(_ id: String, _ parent: String?, root: String, depth: Int) {
            at += 1
            ix.accept(id: id, type: "t", at: at, verifiedBy: parent == nil ? .hmac : .parent,
                      head: DeliveryHead(chain: parent.map { .init(parent: $0, root: root, depth: depth) }), body: Self.ref(Int64(at * 10)))
        }
        add("p", nil, root: "p", depth: 0)
        add("p~e1", "p", root: "p", depth: 1)
        add("p~e2", "p", root: "p", depth: 1)
        add("p~e1~e1", "p~e1", root: "p", depth: 2)
        add("p~e2~e1", "p~e2", root: "p", depth: 2)
        add("p~e1~e1~e1", "p~e1~e1", root: "p", depth: 3)
        // Depth first: each step followed by what it emitted, children in arrival order.
        #expect(ix.chain(root: "p").map(\.id) == ["p", "p~e1", "p~e1~e1", "p~e1~e1~e1", "p~e2", "p~e2~e1"])
        #expect(ix.chain(root: "p~e1").map(\.id) == ["p~e1", "p~e1~e1", "p~e1~e1~e1"])
        #expect(ix.chain(root: "p~e2~e1").map(\.id) == ["p~e2~e1"])
        #expect(ix.chain(root: "nope").isEmpty)
        let composed = "\u{e9}", decomposed = "e\u{301}"
        add(composed, nil, root: composed, depth: 0)
        add(composed + "~e1", composed, root: composed, depth: 1)
        add(decomposed, nil, root: decomposed, depth: 0)
        add(decomposed + "~e1", decomposed, root: decomposed, depth: 1)
        #expect(ix.chain(root: composed).map { Array($0.id.utf8) } == [Array(composed.utf8), Array((composed + "~e1").utf8)])
        #expect(ix.chain(root: decomposed + "~e1").map { Array($0.id.utf8) } == [Array((decomposed + "~e1").utf8)])
    }

    @Test func unfinishedSummaryCountsInPlace() {
        var ix = DeliveryIndex()
        for (i, id) in ["r1", "r2", "run", "retry", "done", "dead"].enumerated() {
            ix.accept(id: id, type: "t", at: Double(10 + i), verifiedBy: .hmac, body: Self.ref(Int64(i * 10)))
        }
        _ = ix.markRunning("run", now: 20)
        for (id, state) in [("retry", DeliveryState.retryScheduled), ("done", .done), ("dead", .dead)] {
            var c = StateChange(id: id, state: state, attempt: 1, at: 21)
            _ = ix.apply(&c)
        }
        #expect(ix.unfinishedSummary() == UnfinishedSummary(running: 1, retryScheduled: 1, received: 2, oldestReceivedAt: 10))
        #expect(DeliveryIndex().unfinishedSummary() == UnfinishedSummary())
    }

    @Test func loadingReplaysRecordsAndResumesInterruptedRuns() {
        var ix = DeliveryIndex()
        ix.load(.delivery(id: "a", type: "t", receivedAt: 1, verifiedBy: .hmac, body: []), at: Self.ref(0))
        ix.load(.delivery(id: "b", type: "t", receivedAt: 2, verifiedBy: .jwt, body: []), at: Self.ref(10))
        ix.load(.state(StateChange(id: "a", state: .running, attempt: 1, at: 3)), at: Self.ref(20))
        ix.load(.state(StateChange(id: "b", state: .dead, attempt: 2, at: 4)), at: Self.ref(30))
        ix.load(.seen(id: "old", at: 0.5), at: Self.ref(40))
        ix.load(.state(StateChange(id: "ghost", state: .done, attempt: 1, at: 5)), at: Self.ref(50))
        let (order, interrupted) = ix.finishLoading(now: 100)
        #expect(interrupted == 1)
        #expect(order.map(\.id) == ["a"])
        #expect(ix["a"]?.state == .retryScheduled && ix["a"]?.nextAt == 100 && ix["a"]?.lastState == Self.ref(20))
        #expect(ix.unfinished == 1 && ix.dead == 1)
        #expect(ix.remembers("old") && ix["ghost"] == nil)
    }

    @Test func applyKeepsCountsAndTheAttemptBudgetBase() {
        var ix = DeliveryIndex()
        ix.accept(id: "a", type: "t", at: 1, verifiedBy: .hmac, body: Self.ref(0))
        let first = ix.markRunning("a", now: 2)
        let second = ix.markRunning("a", now: 2)  // already running
        #expect(first?.attempt == 1 && second == nil)
        var dead = StateChange(id: "a", state: .dead, attempt: 1, at: 3)
        let afterDead = ix.apply(&dead)
        #expect(afterDead?.state == .dead)
        #expect(dead.attemptBase == 0)
        #expect(ix.unfinished == 0 && ix.dead == 1)
        var replay = StateChange(id: "a", state: .received, attempt: 1, at: 4)
        replay.attemptBase = 1
        _ = ix.apply(&replay)
        #expect(ix.unfinished == 1 && ix.dead == 0 && ix["a"]?.attemptBase == 1)
        var unknown = StateChange(id: "zz", state: .done, attempt: 1, at: 4)
        let none = ix.apply(&unknown)
        #expect(none == nil)
    }

    @Test func pruneDropsFinishedPastRetentionAndIdsPastTTL() {
        var ix = DeliveryIndex()
        ix.accept(id: "done", type: "t", at: 1, verifiedBy: .hmac, body: Self.ref(0))
        ix.accept(id: "dead", type: "t", at: 1, verifiedBy: .hmac, body: Self.ref(10))
        var a = StateChange(id: "done", state: .done, attempt: 1, at: 2)
        var b = StateChange(id: "dead", state: .dead, attempt: 1, at: 2)
        _ = ix.apply(&a); _ = ix.apply(&b)
        let pruned = ix.prune(now: 50, retention: 10, dedupTTL: 100)
        #expect(pruned == 1)
        #expect(ix["done"] == nil && ix.remembers("done") && ix["dead"] != nil)
        ix.prune(now: 500, retention: 10, dedupTTL: 100)
        #expect(!ix.remembers("done") && ix.remembers("dead"))  // dead letters keep their id
    }

    @Test func typeFilterMatchesTheFamily() {
        #expect(DeliveryIndex.type("batch.succeeded", matches: "batch"))
        #expect(DeliveryIndex.type("batch", matches: "batch"))
        #expect(!DeliveryIndex.type("batches.x", matches: "batch"))
        #expect(!DeliveryIndex.type("batch", matches: "batch.succeeded"))
    }
}

@Suite struct ExactKeyTests {
    @Test func canonicallyEquivalentIdsAreDifferentDeliveries() {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // what Swift's String equality says
        #expect(ExactKey(composed) != ExactKey(decomposed))
        var d = ShardedDictionary<Int>(shardCount: 1)  // one shard: the hash cannot separate them
        d[composed] = 1
        d[decomposed] = 2
        #expect(d.count == 2 && d[composed] == 1 && d[decomposed] == 2)
        let store = MemoryDeliveryStore()
        #expect(admitSync(store, composed) == .accepted)
        #expect(admitSync(store, decomposed) == .accepted)
    }
}

@Suite struct DotSegmentTests {
    @Test func relativeRedirectsResolveWithoutDotSegments() {
        #expect(FetchURL.removingDotSegments("/a/b/../c") == "/a/c")
        #expect(FetchURL.removingDotSegments("/download/v1beta/files/../files/ok:download?alt=media") == "/download/v1beta/files/ok:download?alt=media")
        #expect(FetchURL.removingDotSegments("/a/./b/.") == "/a/b/")
        #expect(FetchURL.removingDotSegments("/../../x") == "/x")
        #expect(FetchURL.removingDotSegments("/a/..") == "/")
        #expect(FetchURL.removingDotSegments("/q?x=../y") == "/q?x=../y")
    }
}
