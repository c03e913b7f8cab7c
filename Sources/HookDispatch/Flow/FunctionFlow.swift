import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// One function's flow state: its runs, its waiting deliveries queued per key, the turn order of
/// the keys that may run next, and its rate windows. Pure: ids and keys only, time passed in;
/// `FlowTable` keeps one per function that has anything running, waiting or counted.
///
/// A key with waiting deliveries is in exactly one place: its turn in `rotation` (it may run as
/// soon as a slot of the function is free), at its own limit (`concurrency.limit`), or held by
/// its rate window. Serving takes the key whose turn it is, starts its oldest delivery and puts
/// it back at the end of the rotation: waiting keys take turns, one run each, so a key with a
/// backlog of thousands delays another key by one run, not by its backlog.
struct FunctionFlow {
    enum Place { case idle, rotation, atLimit, rateBlocked }

    /// Which rate window a granted run holds a place in.
    enum RateScope: Sendable { case none, function, key }

    /// How a run that held a slot ended, for its rate window.
    enum RunEnd {
        /// Its process started (the window has it already, `started`).
        case started
        /// The host tried to start its process and does not know when it did: it counts from now.
        case spawned
        /// It never got to a process: its place in the window is free again.
        case notStarted
    }

    struct KeyFlow {
        var running = 0
        var queue = FIFO<String>()
        var place = Place.idle
        /// Whether a turn of this key is in `rotation` (possibly stale: see `serve`).
        var inRing = false
        var rate = RateWindow()
        /// The timer armed for its rate window, if any (one per key, not per delivery).
        var wakeAt: Double?
        /// Whether a sweep is due for it (kept only by its rate window).
        var sweepArmed = false
    }

    /// What an operation asks of the table: deliveries granted a slot, timers to arm, keys to
    /// look at again once only their rate window keeps them.
    struct Effects {
        struct Grant: Equatable {
            let id: String
            let key: FlowKey
            let rate: RateScope
        }
        /// A timer: the function's rate window (`key` nil) or one key's.
        struct Timer: Equatable {
            let at: Double
            let key: FlowKey?
        }
        var grants: [Grant] = []
        var wakes: [Timer] = []
        var sweeps: [Timer] = []
    }

    private(set) var limits: FlowLimits
    private(set) var running = 0
    private(set) var keys: [FlowKey: KeyFlow] = [:]
    private var rotation = FIFO<FlowKey>()
    private var rate = RateWindow()
    private var wakeAt: Double?
    private var sweepArmed = false
    /// Keys in turn wait for the function's rate window, not for a slot.
    private(set) var rateHeld = false
    /// Waiting deliveries by the place of their key.
    private(set) var inRotation = 0
    private(set) var atKeyLimit = 0
    private(set) var rateBlocked = 0

    init(limits: FlowLimits) { self.limits = limits }

    var waitingCount: Int { inRotation + atKeyLimit + rateBlocked }

    /// Waiting deliveries by why they wait.
    var waiting: [WaitReason: Int] {
        [.concurrency: rateHeld ? 0 : inRotation, .key: atKeyLimit, .rate: rateBlocked + (rateHeld ? inRotation : 0)]
    }

    // MARK: - Deliveries

    /// Queues `id` behind the deliveries of its key; `serve` decides whether it runs now.
    mutating func enqueue(_ id: String, key: FlowKey, now: Double, _ e: inout Effects) {
        var k = keys.removeValue(forKey: key) ?? KeyFlow()
        k.queue.push(id)
        switch k.place {
        case .idle: place(key, &k, now: now, &e)
        case .rotation: inRotation += 1
        case .atLimit: atKeyLimit += 1
        case .rateBlocked: rateBlocked += 1
        }
        keys[key] = k
    }

    /// Grants slots to waiting deliveries, key by key in turn, while the function has a free
    /// slot and its rate window room.
    mutating func serve(now: Double, _ e: inout Effects) {
        rateHeld = false
        while running < limits.total, !rotation.isEmpty {
            if let r = limits.rate, !r.perKey, !rate.hasRoom(now: now, limit: r.limit, per: r.per) {
                rateHeld = true
                armFunctionWake(r, &e)
                return
            }
            guard let key = rotation.pop(), var k = keys.removeValue(forKey: key) else { continue }
            k.inRing = false
            // A turn left behind when the key moved (its limits changed): not its turn now.
            guard k.place == .rotation else { keys[key] = k; continue }
            unplace(&k)
            guard k.running < limits.perKey, rateAllows(&k, now: now) else {
                place(key, &k, now: now, &e)
                keys[key] = k
                continue
            }
            guard let id = k.queue.pop() else { keys[key] = k; continue }
            running += 1
            k.running += 1
            var scope = RateScope.none
            if let r = limits.rate {
                if r.perKey { k.rate.take(); scope = .key } else { rate.take(); scope = .function }
            }
            e.grants.append(Effects.Grant(id: id, key: key, rate: scope))
            if !k.queue.isEmpty { place(key, &k, now: now, &e) }
            keys[key] = k
        }
    }

    /// A run of `key` ended, or a slot granted to a delivery that did not use it is given back;
    /// the slot goes to the next key in turn.
    mutating func release(key: FlowKey, rate scope: RateScope, _ end: RunEnd, now: Double, _ e: inout Effects) {
        running = max(0, running - 1)
        if var k = keys.removeValue(forKey: key) {
            k.running = max(0, k.running - 1)
            if scope == .key { FunctionFlow.settle(&k.rate, end, now: now, per: limits.rate?.per) }
            // Below its limit again (or its window has room again): its turn comes back.
            if k.place == .atLimit || k.place == .rateBlocked {
                unplace(&k)
                place(key, &k, now: now, &e)
            }
            keys[key] = k
            tidy(key, now: now, &e)
        }
        if scope == .function { FunctionFlow.settle(&rate, end, now: now, per: limits.rate?.per) }
        serve(now: now, &e)
    }

    /// The process of a run granted under `scope` started at `at`: its window counts it from then.
    mutating func started(key: FlowKey, rate scope: RateScope, at: Double, _ e: inout Effects) {
        guard let r = limits.rate else { return }
        switch scope {
        case .none: return
        case .function:
            rate.started(at: at, per: r.per)
            // Held only by runs that had not started: now the window knows when room comes.
            if rateHeld, wakeAt == nil { armFunctionWake(r, &e) }
        case .key:
            guard var k = keys.removeValue(forKey: key) else { return }
            k.rate.started(at: at, per: r.per)
            if k.place == .rateBlocked, k.wakeAt == nil, let at = k.rate.nextExpiry(per: r.per) {
                k.wakeAt = at
                e.wakes.append(Effects.Timer(at: at, key: key))
            }
            keys[key] = k
        }
    }

    /// A timer armed at `at` fired: a rate window may have room again.
    mutating func wake(key: FlowKey?, at: Double, now: Double, _ e: inout Effects) {
        if let key {
            guard var k = keys.removeValue(forKey: key) else { return }
            if k.wakeAt == at {
                k.wakeAt = nil
                if k.place == .rateBlocked {
                    unplace(&k)
                    place(key, &k, now: now, &e)
                }
            }
            keys[key] = k
        } else if wakeAt == at {
            wakeAt = nil
        }
        serve(now: now, &e)
    }

    /// A sweep armed for `key` (nil: the function's own window) came due.
    mutating func sweep(key: FlowKey?, now: Double, _ e: inout Effects) {
        if let key {
            keys[key]?.sweepArmed = false
            tidy(key, now: now, &e)
        } else {
            sweepArmed = false
        }
    }

    // MARK: - Limits

    /// New limits (a sidecar edited). With a different key path (or a rate that changed between
    /// per key and per function) every waiting delivery is returned, to be keyed again; else
    /// every waiting key is put back in turn and served under the new limits. Runs keep the
    /// keys they started with.
    mutating func relimit(_ new: FlowLimits, now: Double, _ e: inout Effects) -> [String] {
        guard new != limits else { return [] }
        let old = limits
        limits = new
        var evicted: [String] = []
        if old.keyPath != new.keyPath || old.rate?.perKey != new.rate?.perKey {
            evicted = evictAll(now: now, &e)
        } else {
            rotation = FIFO()
            for key in Array(keys.keys) {
                guard var k = keys.removeValue(forKey: key) else { continue }
                k.inRing = false
                if k.place != .idle {
                    unplace(&k)
                    k.wakeAt = nil
                    place(key, &k, now: now, &e)
                }
                keys[key] = k
            }
            wakeAt = nil
        }
        serve(now: now, &e)
        return evicted
    }

    /// Every waiting delivery, oldest first per key, taken out (the function is gone, or its
    /// deliveries are keyed anew).
    mutating func evictAll(now: Double, _ e: inout Effects) -> [String] {
        var out: [String] = []
        for key in Array(keys.keys) {
            guard var k = keys.removeValue(forKey: key) else { continue }
            out += k.queue.drain()
            k.place = .idle
            k.inRing = false
            k.wakeAt = nil
            keys[key] = k
            tidy(key, now: now, &e)
        }
        rotation = FIFO()
        inRotation = 0
        atKeyLimit = 0
        rateBlocked = 0
        rateHeld = false
        wakeAt = nil
        return out
    }

    /// Nothing runs, waits or is counted: the table may drop this function's state. A window
    /// that still counts starts keeps it, with a sweep armed for when the window empties.
    mutating func isIdle(now: Double, _ e: inout Effects) -> Bool {
        guard running == 0, keys.isEmpty else { return false }
        if let r = limits.rate { rate.expire(now: now, per: r.per) }
        if rate.isEmpty || limits.rate == nil { return true }
        if !sweepArmed, let at = rate.emptyAt(per: limits.rate!.per) {
            sweepArmed = true
            e.sweeps.append(Effects.Timer(at: at, key: nil))
        }
        return false
    }

    // MARK: - Places

    /// Puts a key whose waiting deliveries are counted nowhere where it waits now.
    private mutating func place(_ key: FlowKey, _ k: inout KeyFlow, now: Double, _ e: inout Effects) {
        let n = k.queue.count
        guard n > 0 else { k.place = .idle; return }
        if k.running >= limits.perKey {
            k.place = .atLimit
            atKeyLimit += n
        } else if !rateAllows(&k, now: now) {
            k.place = .rateBlocked
            rateBlocked += n
            if let r = limits.rate, let at = k.rate.nextExpiry(per: r.per), k.wakeAt != at {
                k.wakeAt = at
                e.wakes.append(Effects.Timer(at: at, key: key))
            }
        } else {
            k.place = .rotation
            inRotation += n
            if !k.inRing {
                k.inRing = true
                rotation.push(key)
            }
        }
    }

    /// Takes a key's waiting deliveries out of their count, before they move.
    private mutating func unplace(_ k: inout KeyFlow) {
        let n = k.queue.count
        switch k.place {
        case .idle: break
        case .rotation: inRotation -= n
        case .atLimit: atKeyLimit -= n
        case .rateBlocked: rateBlocked -= n
        }
        k.place = .idle
    }

    /// Whether the key's own rate window (if the rate is per key) has room.
    private func rateAllows(_ k: inout KeyFlow, now: Double) -> Bool {
        guard let r = limits.rate, r.perKey else { return true }
        return k.rate.hasRoom(now: now, limit: r.limit, per: r.per)
    }

    private mutating func armFunctionWake(_ r: FlowLimits.Rate, _ e: inout Effects) {
        guard let at = rate.nextExpiry(per: r.per), wakeAt != at else { return }
        wakeAt = at
        e.wakes.append(Effects.Timer(at: at, key: nil))
    }

    /// `per` nil: the rate was taken off meanwhile; the window is no longer read.
    private static func settle(_ w: inout RateWindow, _ end: RunEnd, now: Double, per: Double?) {
        switch end {
        case .started: break
        case .spawned: w.started(at: now, per: per ?? 0)
        case .notStarted: w.abandon()
        }
    }

    /// Drops a key that neither runs nor waits, unless its rate window still counts starts:
    /// then a sweep looks again when they have left it. Bounded memory with any number of keys.
    private mutating func tidy(_ key: FlowKey, now: Double, _ e: inout Effects) {
        guard var k = keys.removeValue(forKey: key) else { return }
        guard k.running == 0, k.queue.isEmpty else { keys[key] = k; return }
        if let r = limits.rate, r.perKey { k.rate.expire(now: now, per: r.per) }
        guard !k.rate.isEmpty, let r = limits.rate, r.perKey else { return }  // dropped
        if !k.sweepArmed, let at = k.rate.emptyAt(per: r.per) {
            k.sweepArmed = true
            e.sweeps.append(Effects.Timer(at: at, key: key))
        }
        keys[key] = k
    }
}
