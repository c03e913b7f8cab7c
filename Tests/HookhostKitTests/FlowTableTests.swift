import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// A key from a string (nil: the shared "none" key).
private func key(_ s: String?) -> FlowKey { s.map { FlowKey(.string($0)) } ?? .none }

private func limits(total: Int = .max, perKey: Int = .max, rate: FlowLimits.Rate? = nil) -> FlowLimits {
    FlowLimits(total: total, perKey: perKey, rate: rate, keyPath: perKey < .max || rate?.perKey == true ? .job : nil)
}

private extension FlowKeyPath {
    static let job = try! FlowKeyPath.parse("user_metadata.job").get()
}

/// A flow table driven as the dispatcher drives it: claims, grants taken by a worker, releases.
private struct Driver {
    var t = FlowTable()
    var l: FlowLimits
    var now: Double = 0
    /// Granted and not yet claimed by a worker, oldest first.
    var granted: [String] = []

    init(_ l: FlowLimits) { self.l = l }

    mutating func claim(_ id: String, _ k: String? = nil, function: String = "f") -> FlowTable.Claimed {
        let (c, o) = t.claim(id, function: function, key: key(k), limits: l, now: now)
        granted += o.granted
        return c
    }

    mutating func release(_ id: String) {
        granted += t.release(id, now: now).granted
    }

    /// The worker takes the oldest grant: it claims (and runs) it. Nil when none.
    mutating func takeGrant(_ k: (String) -> String?) -> String? {
        guard !granted.isEmpty else { return nil }
        let id = granted.removeFirst()
        #expect(claim(id, k(id)) == .run)
        return id
    }

    mutating func tick(_ at: Double) {
        now = at
        granted += t.tick(now: at).granted
    }
}

@Suite struct FlowTableTests {
    /// Ids are bytes, as in the spool: `é` and `e` + U+0301 are two deliveries, each with its own
    /// slot. Keyed as Swift strings, the second was taken for the first and waited for ever.
    @Test func idsThatDifferOnlyInUnicodeCompositionAreTwoDeliveries() {
        var d = Driver(limits())
        #expect(d.claim("\u{e9}") == .run)
        #expect(d.claim("e\u{301}") == .run)
        #expect(d.t.size.tickets == 2)
        d.release("\u{e9}")
        d.release("e\u{301}")
        #expect(d.t.size.tickets == 0)
    }

    @Test func slotsUpToTheLimitThenDeliveriesWait() {
        var d = Driver(limits(total: 2))
        #expect(["a", "b", "c", "d"].map { d.claim($0) } == [.run, .run, .waiting, .waiting])
        #expect(d.claim("x", function: "g") == .run)  // another function's slots are its own
        #expect(d.t.taken("f") == 2 && d.t.waitingCount("f") == 2)
        #expect(d.t.waiting["f"] == [.concurrency: 2, .key: 0, .rate: 0])
    }

    @Test func aSlotGivenBackGoesToTheLongestWaitingAndStaysTaken() {
        var d = Driver(limits(total: 1))
        _ = ["a", "b", "c"].map { d.claim($0) }
        d.release("a")
        #expect(d.granted == ["b"])
        #expect(d.t.taken("f") == 1 && d.t.waitingCount("f") == 1)
        #expect(d.claim("late") == .waiting)  // the granted slot is not free
        #expect(d.claim("b") == .run)  // the worker that takes b finds its slot
        #expect(d.claim("b") == .taken)  // and one that takes a duplicate of it does not run it again
        d.granted = []
        var order: [String] = []
        for id in ["b", "c", "late"] {
            d.release(id)
            if let next = d.takeGrant({ _ in nil }) { order.append(next) }
        }
        #expect(order == ["c", "late"])
        #expect(d.t.taken("f") == 0 && d.t.size.functions == 0)
        #expect(d.claim("e") == .run)
    }

    @Test func aGrantNotUsedPassesTheSlotOnButAClaimedOneStays() {
        var d = Driver(limits(total: 1))
        _ = ["a", "b", "c"].map { d.claim($0) }
        d.release("a")
        #expect(d.granted == ["b"])
        // b was purged while it waited: its grant goes to c.
        #expect(d.t.cancel("b", now: 0).granted == ["c"])
        #expect(d.claim("c") == .run)
        #expect(d.t.cancel("c", now: 0) == FlowTable.Outcome())  // running: a stale duplicate changes nothing
        #expect(d.t.taken("f") == 1)
    }

    @Test func aWaitingDeliveryClaimedAgainIsNotQueuedTwice() {
        var d = Driver(limits(total: 1))
        _ = ["a", "b"].map { d.claim($0) }
        #expect(d.claim("b") == .waiting)
        #expect(d.t.waitingCount("f") == 1)
    }

    @Test func aRaisedLimitGrantsAsManyWaitingAsThereAreFreeSlots() {
        var d = Driver(limits(total: 1))
        _ = ["a", "b", "c", "d", "e"].map { d.claim($0) }
        let o = d.t.relimit("f", limits(total: 3), now: 0)
        #expect(o.granted == ["b", "c"])  // a holds one of the three
        #expect(d.t.waitingCount("f") == 2 && d.t.taken("f") == 3)
        #expect(d.t.relimit("f", limits(total: 3), now: 0) == FlowTable.Outcome())  // unchanged: nothing to do

        // A claim under the raised limit serves those waiting before it.
        var c = Driver(limits(total: 1))
        _ = ["a", "b", "c"].map { c.claim($0) }
        c.l = limits(total: 2)
        #expect(c.claim("n") == .waiting)
        #expect(c.granted == ["b"])
    }

    @Test func aLoweredLimitGrantsOnlyOnceBelowIt() {
        var d = Driver(limits(total: 3))
        _ = ["a", "b", "c"].map { d.claim($0) }
        d.l = limits(total: 1)
        #expect(d.claim("w") == .waiting)
        d.release("a")
        d.release("b")
        #expect(d.granted.isEmpty)
        d.release("c")
        #expect(d.granted == ["w"])
    }

    @Test func aReleaseOfNothingHeldChangesNothing() {
        var d = Driver(limits(total: 1))
        d.release("nobody")
        #expect(d.t.taken("f") == 0)
        #expect(d.claim("a") == .run)
    }

    @Test func aFunctionGoneHandsBackEveryoneWaitingForIt() {
        var d = Driver(limits(total: 1))
        _ = ["a", "b", "c"].map { d.claim($0) }
        _ = ["x", "y"].map { d.claim($0, function: "g") }
        #expect(Set(d.t.waitedFor) == ["f", "g"])
        #expect(d.t.evict("f", now: 0) == ["b", "c"])
        #expect(d.t.waitingCount("f") == 0 && d.t.waitingCount("g") == 1)
        #expect(d.t.waitedFor == ["g"])
        d.release("a")  // a's slot comes back with nobody left to take it
        #expect(d.granted.isEmpty && d.t.taken("f") == 0)
        #expect(d.claim("b") == .run)  // handed back, it claims as any due delivery does
    }
}

/// Concurrency keys: a limit per key value, and waiting keys served in turn.
extension FlowTableTests {
    @Test func eachKeyHasItsOwnLimitUnderTheFunctionsLimit() {
        var d = Driver(limits(total: 3, perKey: 1))
        #expect(d.claim("a1", "A") == .run)
        #expect(d.claim("a2", "A") == .waiting)
        #expect(d.claim("a3", "A") == .waiting)
        #expect(d.claim("b1", "B") == .run)  // A's backlog does not hold B
        #expect(d.claim("n1", nil) == .run)  // without the key: the shared none key
        #expect(d.claim("n2", nil) == .waiting)
        #expect(d.claim("c1", "C") == .waiting)  // three runs: the function's limit
        #expect(d.t.waiting["f"] == [.concurrency: 1, .key: 3, .rate: 0])
        d.release("a1")
        #expect(d.granted == ["c1"])  // C waited for a slot; A's next must wait for A
    }

    @Test func waitingKeysTakeTurnsOneRunEach() {
        // One slot, one run per key: 1 000 of A, then 10 of B. B's waited behind none of A's backlog.
        var d = Driver(limits(total: 1, perKey: 1))
        #expect(d.claim("A0", "A") == .run)
        for i in 1..<1000 { #expect(d.claim("A\(i)", "A") == .waiting) }
        for i in 0..<10 { #expect(d.claim("B\(i)", "B") == .waiting) }
        var order = ["A0"]
        var running = "A0"
        while true {
            d.release(running)
            guard let next = d.takeGrant({ String($0.prefix(1)) }) else { break }
            order.append(next)
            running = next
        }
        #expect(order.count == 1010)
        #expect(Array(order.prefix(5)) == ["A0", "B0", "A1", "B1", "A2"])
        #expect(order.firstIndex(of: "B9")! < order.firstIndex(of: "A11")!)
        // Within a key, oldest first.
        #expect(order.filter { $0.hasPrefix("A") } == (0..<1000).map { "A\($0)" })
        #expect(d.t.size == (0, 0, 0, 0))
    }

    @Test func aKeyAtItsLimitLetsTheNextKeyInTurnHaveTheSlot() {
        // Two slots, two keys of limit 1 with backlogs, and a third key: no slot idles while
        // a key that may run waits.
        var d = Driver(limits(total: 2, perKey: 1))
        #expect(d.claim("a0", "A") == .run)
        #expect(d.claim("a1", "A") == .waiting)
        #expect(d.claim("b0", "B") == .run)
        #expect(d.claim("b1", "B") == .waiting)
        #expect(d.claim("c0", "C") == .waiting)
        d.release("a0")
        #expect(d.granted == ["c0"])  // C had waited for a slot; A joins the turns behind it
        d.release("b0")
        #expect(d.granted == ["c0", "a1"])
    }

    @Test func aNewKeyPathHandsEveryWaitingDeliveryBackToBeKeyedAnew() {
        var d = Driver(limits(total: 1, perKey: 1))
        _ = [("a", "A"), ("b", "B"), ("c", "A")].map { d.claim($0.0, $0.1) }
        var other = limits(total: 1, perKey: 1)
        other.keyPath = try! FlowKeyPath.parse("type").get()
        let o = d.t.relimit("f", other, now: 0)
        #expect(Set(o.evicted) == ["b", "c"])
        #expect(d.t.waitingCount("f") == 0)
        d.release("a")  // the run keeps the key it started with
        #expect(d.t.size.keys == 0)
    }

    /// Issue 21: memory stays bounded with 100 000 distinct keys — a key's state goes once
    /// nothing runs, waits or is counted under it.
    @Test func stateForAHundredThousandKeysGoesWhenTheyAreDone() {
        var d = Driver(limits(total: 100, perKey: 1))
        let n = 100_000
        var running: [String] = []
        for i in 0..<n {
            let c = d.claim("d\(i)", "k\(i)")
            if c == .run { running.append("d\(i)") }
        }
        #expect(running.count == 100)
        #expect(d.t.size.keys == n)  // each waiting key is held while it waits
        var done = 0
        while let id = running.popLast() {
            d.release(id)
            done += 1
            if let next = d.takeGrant({ "k" + $0.dropFirst() }) { running.append(next) }
        }
        #expect(done == n)
        #expect(d.t.size == (0, 0, 0, 0))

        // A rate per key keeps a key only while its window counts a start.
        var r = Driver(limits(rate: .init(limit: 1, per: 10, perKey: true)))
        for i in 0..<n {
            #expect(r.claim("d\(i)", "k\(i)") == .run)
            r.t.started("d\(i)", at: 0)
            r.release("d\(i)")
        }
        #expect(r.t.size.keys == n)
        r.tick(RateWindow.hold(10))
        #expect(r.t.size == (0, 0, 0, 0))
    }
}

/// Rate limits: starts per window, waiting without a worker, one timer per window.
extension FlowTableTests {
    @Test func aRateLimitHoldsTheRestUntilTheWindowHasRoom() {
        var d = Driver(limits(rate: .init(limit: 3, per: 1, perKey: false)))
        var runs: [String] = []
        for i in 0..<10 where d.claim("r\(i)") == .run { runs.append("r\(i)") }
        #expect(runs == ["r0", "r1", "r2"])
        #expect(d.t.waiting["f"] == [.concurrency: 0, .key: 0, .rate: 7])
        #expect(d.t.nextWake == nil)  // granted, not started: their start sets the window's time
        for (i, id) in runs.enumerated() { d.t.started(id, at: 0.1 * Double(i)) }
        #expect(d.t.nextWake == RateWindow.hold(1))  // r0 leaves the window first
        for id in runs { d.release(id) }
        #expect(d.granted.isEmpty)  // ended runs free no place in the window
        d.tick(1.0)
        #expect(d.granted.isEmpty)  // a start counts for `per` and one slice more
        d.tick(0.2 + RateWindow.hold(1))
        #expect(d.granted == ["r3", "r4", "r5"])
    }

    @Test func aBacklogWaitsOnOneTimerAndGoesOutAtTheRate() {
        // Issue 21: a replay of 50 000 must not stampede the function.
        var d = Driver(limits(rate: .init(limit: 100, per: 1, perKey: false)))
        let n = 50_000
        var started: [Double] = []
        for i in 0..<n where d.claim("b\(i)") == .run {
            d.t.started("b\(i)", at: 0)
            d.release("b\(i)")
            started.append(0)
        }
        #expect(started.count == 100)
        #expect(d.t.rateTimers == 1)
        var t = 0.0
        for _ in 0..<10_000 where started.count < n {
            t = d.t.nextWake ?? (t + 0.5)
            d.tick(t)
            while let id = d.takeGrant({ _ in nil }) {
                d.t.started(id, at: t)
                d.release(id)
                started.append(t)
            }
            #expect(d.t.rateTimers <= 1)
        }
        #expect(started.count == n)
        #expect(Self.mostInAnyWindow(started, per: 1) == 100)
    }

    /// Random arrivals, start delays and run lengths: the starts never exceed the limit in any
    /// window of `per`, and the limit is reached (the window is not merely conservative).
    @Test(arguments: [(5, 1.0), (1, 0.25), (60, 60.0)])
    func startsNeverExceedTheLimitInAnyWindow(_ limit: Int, _ per: Double) {
        var d = Driver(limits(total: 4, rate: .init(limit: limit, per: per, perKey: false)))
        var rng = SplitMix64(state: 21)
        var starts: [Double] = []
        var running: [(id: String, ends: Double)] = []
        var pendingStart: [(id: String, at: Double)] = []
        var next = 0
        var t = 0.0
        for _ in 0..<20_000 {
            t += per * 0.01 * Double.random(in: 0..<1, using: &rng)
            d.tick(t)
            if Double.random(in: 0..<1, using: &rng) < 0.5 {
                if d.claim("x\(next)") == .run { pendingStart.append(("x\(next)", t + per * 0.02 * Double.random(in: 0..<1, using: &rng))) }
                next += 1
            }
            while let id = d.takeGrant({ _ in nil }) { pendingStart.append((id, t + per * 0.02 * Double.random(in: 0..<1, using: &rng))) }
            for p in pendingStart where p.at <= t {
                d.t.started(p.id, at: p.at)
                starts.append(p.at)
                running.append((p.id, p.at + per * 0.05 * Double.random(in: 0..<1, using: &rng)))
            }
            pendingStart.removeAll { $0.at <= t }
            for r in running where r.ends <= t { d.release(r.id) }
            running.removeAll { $0.ends <= t }
        }
        #expect(starts.count >= 50)
        #expect(Self.mostInAnyWindow(starts, per: per) == limit)
    }

    @Test func aGrantThatNeverStartsFreesItsPlaceAndOneThatTriedCountsFromItsEnd() {
        var d = Driver(limits(rate: .init(limit: 1, per: 10, perKey: false)))
        #expect(d.claim("a") == .run)
        #expect(d.claim("b") == .waiting)
        d.release("a")  // never got to its process (e.g. purged before its start record)
        #expect(d.granted == ["b"])
        #expect(d.claim("b") == .run)
        d.t.spawning("b")
        d.now = 3
        d.release("b")  // the launcher gave no start time: it counts from its end
        #expect(d.claim("c") == .waiting)
        #expect(d.t.nextWake == 3 + RateWindow.hold(10))
    }

    @Test func aRatePerKeyHoldsOnlyThatKey() {
        var d = Driver(limits(rate: .init(limit: 2, per: 1, perKey: true)))
        for id in ["a1", "a2"] {
            #expect(d.claim(id, "A") == .run)
            d.t.started(id, at: 0)
        }
        #expect(d.claim("a3", "A") == .waiting)
        #expect(d.claim("b1", "B") == .run)
        #expect(d.t.waiting["f"] == [.concurrency: 0, .key: 0, .rate: 1])
        #expect(d.t.nextWake == RateWindow.hold(1))
        d.tick(RateWindow.hold(1))
        #expect(d.granted == ["a3"])
    }

    @Test func keysAndARateForTheWholeFunctionTakeTurnsAtTheRate() {
        var d = Driver(limits(perKey: 1, rate: .init(limit: 1, per: 1, perKey: false)))
        #expect(d.claim("a1", "A") == .run)
        d.t.started("a1", at: 0)
        d.release("a1")
        for id in ["a2", "a3"] { #expect(d.claim(id, "A") == .waiting) }
        #expect(d.claim("b1", "B") == .waiting)
        #expect(d.t.waiting["f"] == [.concurrency: 0, .key: 0, .rate: 3])
        var order: [String] = []
        for s in 1...3 {
            let at = Double(s) * 1.1  // each after the previous start's `hold`
            d.tick(at)
            let id = d.takeGrant({ String($0.prefix(1)).uppercased() })!
            d.t.started(id, at: at)
            d.release(id)
            order.append(id)
        }
        #expect(order == ["a2", "b1", "a3"])
    }

    /// Most starts in any half-open window [t, t + per).
    static func mostInAnyWindow(_ starts: [Double], per: Double) -> Int {
        let s = starts.sorted()
        var most = 0
        var lo = 0
        for hi in s.indices {
            while s[hi] - s[lo] >= per { lo += 1 }
            most = max(most, hi - lo + 1)
        }
        return most
    }
}
