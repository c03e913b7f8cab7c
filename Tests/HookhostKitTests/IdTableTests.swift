import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct IdTableTests {
    static func record(_ at: Double) -> FinishedDelivery {
        FinishedDelivery(receivedAt: at, updatedAt: at, bodyOffset: 0, lastOffset: 0, attempt: 1, attemptBase: 0, type: 0,
                         function: 0, bodyLength: 1, lastLength: 0, state: 0, flags: 0)
    }

    @Test func idsAreExactBytesEvenInOneShard() {
        var t = IdTable(shardCount: 1)
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        t.remember(composed, at: 1)
        #expect(!t.contains(decomposed))
        t.remember(decomposed, at: 2)
        #expect(t.count == 2)
        #expect(t[t.lookup(composed)!].seenAt == 1 && t[t.lookup(decomposed)!].seenAt == 2)
        #expect(t.id(at: t.lookup(decomposed)!).utf8.elementsEqual(decomposed.utf8))
        // Prefixes and the empty id are ids of their own.
        t.remember("", at: 3); t.remember("caf", at: 4)
        #expect(t.count == 4 && t.contains("") && !t.contains("ca"))
    }

    @Test func growsAndKeepsEveryIdAndRecord() {
        var t = IdTable(shardCount: 2)
        for i in 0..<20_000 {
            let p = t.remember("id-\(i)", at: Double(i))
            if i % 3 == 0 { t.setFinished(p, Self.record(Double(i))) }
        }
        #expect(t.count == 20_000 && t.finishedCount == 6_667)
        for i in stride(from: 0, to: 20_000, by: 7) {
            let p = t.lookup("id-\(i)")
            #expect(p != nil && t[p!].seenAt == Double(i))
            #expect(t.finished(at: p!)?.receivedAt == (i % 3 == 0 ? Double(i) : nil))
        }
        #expect(!t.contains("id-20000"))
        // Remembering again keeps the later time.
        t.remember("id-5", at: 1); t.remember("id-6", at: 100)
        #expect(t[t.lookup("id-5")!].seenAt == 5 && t[t.lookup("id-6")!].seenAt == 100 && t.count == 20_000)
    }

    @Test func pruneRebuildsOnlyWhatWentAndFreesSlots() {
        var t = IdTable(shardCount: 4)
        for i in 0..<1000 {
            let p = t.remember("k\(i)", at: Double(i))
            t.setFinished(p, Self.record(Double(i)))
        }
        // Records of the first half expire; their ids stay (TTL), except the first hundred.
        var gone = 0
        for s in 0..<t.shardCount {
            gone += t.prune(shard: s) { e, f in
                let keepRecord = (f?.updatedAt ?? 0) >= 500
                return (keepRecord || e.seenAt >= 100, keepRecord)
            }
        }
        #expect(gone == 500 + 100)
        #expect(t.count == 900 && t.finishedCount == 500)
        #expect(!t.contains("k99") && t.contains("k100") && t.finished(at: t.lookup("k100")!) == nil)
        #expect(t.finished(at: t.lookup("k777")!)?.receivedAt == 777)
        // A freed slot is reused.
        let p = t.lookup("k777")!
        t.setFinished(p, nil)
        t.setFinished(t.lookup("k100")!, Self.record(100))
        #expect(t.finishedCount == 500 && t.finished(at: t.lookup("k100")!)?.receivedAt == 100)
        // Nothing to prune: nothing changes.
        #expect(t.prune(shard: 0) { _, f in (true, f != nil) } == 0)
    }

    @Test func collisionsCannotBeForcedFromOutside() {
        // The hash is seeded per process: two tables in one process agree, but which ids share
        // a probe start is not a function of the ids alone. What matters for correctness is that
        // even ids sharing everything but one byte stay apart.
        var t = IdTable(shardCount: 1)
        let ids = (0..<5000).map { "msg_\(String(repeating: "a", count: 40))\($0)" }
        for (i, id) in ids.enumerated() { t.remember(id, at: Double(i)) }
        #expect(ids.enumerated().allSatisfy { i, id in t.lookup(id).map { t[$0].seenAt } == Double(i) })
        #expect(t.count == 5000)
    }
}

@Suite struct CompactDeliveryTests {
    static func ref(_ o: Int64) -> SpoolRef { SpoolRef(offset: o, length: 10) }

    @Test func finishedDeliveriesComeBackExactlyAndTTLPruningKeepsIds() {
        var ix = DeliveryIndex()
        ix.accept(id: "a", type: "batch.done", at: 1, verifiedBy: .jwt, body: Self.ref(0))
        _ = ix.markRunning("a", now: 2)
        var done = StateChange(id: "a", state: .done, attempt: 1, at: 3, function: "fn")
        _ = ix.apply(&done)
        ix.setLastState("a", Self.ref(50), endsAttempt: true)
        let d = ix["a"]!
        #expect(d.state == .done && d.type == "batch.done" && d.verifiedBy == .jwt && d.attempt == 1 && d.function == "fn"
                && d.lastState == Self.ref(50) && d.lastIsAttempt && d.updatedAt == 3 && d.body == Self.ref(0))
        #expect(ix.active.count == 0 && ix.ids.finishedCount == 1 && ix.count == 1)
        #expect(ix.list(state: .done, type: "batch").map(\.id) == ["a"] && ix.list(state: .skipped).isEmpty)
        #expect(ix.liveBytes == 20)
        // A replay makes it whole again; finishing compacts it again.
        var replay = StateChange(id: "a", state: .received, attempt: 1, at: 4)
        replay.attemptBase = 1
        _ = ix.apply(&replay)
        #expect(ix.active.count == 1 && ix.ids.finishedCount == 0 && ix.unfinished == 1)
        // A finished delivery with attempt history stays whole (a compact record has no room for it).
        _ = ix.markRunning("a", now: 5)
        var skip = StateChange(id: "a", state: .skipped, attempt: 2, at: 6)
        _ = ix.apply(&skip)
        ix.setLastState("a", Self.ref(90), endsAttempt: true)
        #expect(ix["a"]?.attemptRefs == [Self.ref(50), Self.ref(90)] && ix.active.count == 1)
        // Retention drops the delivery, the dedup TTL the id.
        #expect(ix.prune(now: 100, retention: 10, dedupTTL: 1000) == 1)
        #expect(ix["a"] == nil && ix.remembers("a"))
        #expect(ix.prune(now: 2000, retention: 10, dedupTTL: 1000) == 1)
        #expect(!ix.remembers("a") && ix.rememberedCount == 0)
    }

    @Test func loadFromTheLogRebuildsCompactAndWholeDeliveries() {
        var ix = DeliveryIndex()
        for i in 0..<300 {
            ix.load(.delivery(id: "d\(i)", type: i % 2 == 0 ? "x.a" : "y", receivedAt: Double(i), verifiedBy: .hmac, body: []), at: Self.ref(Int64(i) * 100))
            if i % 3 != 0 {
                ix.load(.state(StateChange(id: "d\(i)", state: i % 3 == 1 ? .done : .skipped, attempt: 1, at: Double(i) + 0.5)), at: Self.ref(Int64(i) * 100 + 50))
            }
        }
        ix.load(.seen(id: "only", at: 7), at: Self.ref(40_000))
        ix.load(.forget(id: "d1"), at: Self.ref(40_100))
        let (order, _) = ix.finishLoading(now: 1000)
        #expect(order.count == 100 && ix.unfinished == 100)
        #expect(ix.count == 299 && ix.rememberedCount == 301 && ix.ids.finishedCount == 199)
        #expect(ix["d1"] == nil && ix.remembers("d1") && ix["d2"]?.state == .skipped && ix["d4"]?.lastState == SpoolRef(offset: 450, length: 10))
        #expect(ix.list(type: "x").count == 150 && ix.list().map(\.id).first == "d0")
        var only: [String] = []
        ix.forEachRememberedOnly { id, _ in only.append(id) }
        #expect(Set(only) == ["only", "d1"])
        ix.remap { SpoolRef(offset: $0.offset + 1, length: $0.length) }
        #expect(ix["d4"]?.body.offset == 401 && ix["d4"]?.lastState?.offset == 451 && ix["d3"]?.body.offset == 301)
    }
}
