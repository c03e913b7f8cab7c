import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// When each waiting delivery may run: concurrency slots per function (`max_concurrency`) and
/// per key (`concurrency`), rate windows (`rate`), and the deliveries waiting for them, key by
/// key in turn. Pure: names, keys and ids only, time passed in. The dispatcher holds it under one
/// lock.
///
/// A delivery that may not run yet waits here, not in a worker and not on disk: it keeps its
/// state (`received`, `retry_scheduled`) and spends no attempt. When a slot is given back, a
/// rate timer fires or the limits are raised, waiting deliveries are **granted** a slot: the
/// table keeps it for them (a ticket) until a worker claims it with the delivery, or gives it
/// back. So a freed slot passes straight to the delivery whose turn it is — one hand-over per
/// run, however long the backlog — and a backlog held by a rate limit costs one timer per rate
/// window (the function's, or one per key), not one per delivery.
struct FlowTable {
    /// What a claim came to.
    enum Claimed: Equatable, Sendable {
        /// It holds a slot: the caller runs it.
        case run
        /// It waits here; a grant will bring it back.
        case waiting
        /// It holds a slot claimed by another worker already (a duplicate of a delivery running).
        case taken
    }

    /// Deliveries granted a slot (the caller makes them due; whoever takes one claims its slot)
    /// and deliveries taken out of the table to be resolved and claimed again.
    struct Outcome: Equatable, Sendable {
        var granted: [String] = []
        var evicted: [String] = []
    }

    private struct Ticket {
        let function: String
        let key: FlowKey
        let rate: FunctionFlow.RateScope
        var state: State
    }

    enum State {
        /// Granted; no worker has it yet.
        case granted
        /// Its result is being downloaded (the first step of its run); claimed once it is there.
        case fetching
        /// A worker runs it; its process is not started.
        case claimed
        /// A worker is starting its process.
        case spawning
        /// Its process started (its rate window counts it from then).
        case started
    }

    private struct TimerRef {
        let function: String
        let key: FlowKey?
    }

    private var functions: [String: FunctionFlow] = [:]
    /// By the id's bytes (`ExactKey`), as the spool keys deliveries: `é` and `e\u{301}` are two.
    private var tickets: [ExactKey: Ticket] = [:]
    private var waitingIds: Set<ExactKey> = []
    private var wakes = WakeHeap<TimerRef>()
    private var sweeps = WakeHeap<TimerRef>()
    /// A timer earlier than every one before was armed (the dispatcher's timer must wake sooner).
    private var armedEarlier = false

    // MARK: - Claims

    /// `id`, a delivery of `function` under `key`, asks to run at `now`. It runs when it holds
    /// a slot granted earlier, or when its turn comes at once; else it waits here.
    mutating func claim(_ id: String, function: String, key: FlowKey, limits: FlowLimits, now: Double) -> (Claimed, Outcome) {
        var out = relimit(function, limits, now: now)
        if let t = tickets[ExactKey(id)] {
            guard t.state == .granted || t.state == .fetching else { return (.taken, out) }
            if t.function == function && t.key == key {
                tickets[ExactKey(id)]!.state = .claimed
                return (.run, out)
            }
            // Granted for another function or key (a sidecar or the routes changed): claimed anew.
            out.granted += release(id, now: now).granted
        }
        if waitingIds.contains(ExactKey(id)) { return (.waiting, out) }
        waitingIds.insert(ExactKey(id))
        let granted = change(function, limits: limits, now: now) { fn, e in
            fn.enqueue(id, key: key, now: now, &e)
            fn.serve(now: now, &e)
        }
        var claimed = Claimed.waiting
        for g in granted {
            if g == id {
                tickets[ExactKey(id)]!.state = .claimed
                claimed = .run
            } else {
                out.granted.append(g)
            }
        }
        return (claimed, out)
    }

    /// The slot `id` holds is given back: its run ended, or a grant was not used. The next
    /// delivery in turn is granted it.
    mutating func release(_ id: String, now: Double) -> Outcome {
        guard let t = tickets.removeValue(forKey: ExactKey(id)) else { return Outcome() }
        let end: FunctionFlow.RunEnd = switch t.state {
        case .started: .started
        case .spawning: .spawned
        case .granted, .fetching, .claimed: .notStarted
        }
        return Outcome(granted: change(t.function, now: now) { fn, e in fn.release(key: t.key, rate: t.rate, end, now: now, &e) })
    }

    /// Gives back the slot granted to `id` if no worker claimed it (a delivery purged, replayed
    /// or run meanwhile); a slot claimed or running is left alone.
    mutating func cancel(_ id: String, now: Double) -> Outcome {
        guard tickets[ExactKey(id)]?.state == .granted else { return Outcome() }
        return release(id, now: now)
    }

    /// The worker hands `id` to the download threads: its slot stays held through the download,
    /// the first step of its run, and is claimed again once the result is there.
    mutating func fetching(_ id: String) {
        if tickets[ExactKey(id)]?.state == .claimed { tickets[ExactKey(id)]!.state = .fetching }
    }

    /// The worker parks `id` until a downloader is free: the slot waits for it, as a grant.
    mutating func hold(_ id: String) {
        if tickets[ExactKey(id)]?.state == .claimed { tickets[ExactKey(id)]!.state = .granted }
    }

    /// `id`'s download ended: with the result it holds its slot as a grant does (a worker
    /// claims it); without (a retry scheduled, a dead letter, put off for lack of disk) the slot
    /// goes to the next in turn.
    mutating func fetchEnded(_ id: String, fetched: Bool, now: Double) -> Outcome {
        guard tickets[ExactKey(id)]?.state == .fetching else { return Outcome() }
        guard fetched else { return release(id, now: now) }
        tickets[ExactKey(id)]!.state = .granted
        return Outcome()
    }

    /// The worker is about to start `id`'s process.
    mutating func spawning(_ id: String) {
        if tickets[ExactKey(id)]?.state == .claimed { tickets[ExactKey(id)]!.state = .spawning }
    }

    /// `id`'s process started at `at`: its rate window counts it from then.
    mutating func started(_ id: String, at: Double) {
        guard let t = tickets[ExactKey(id)], t.state == .claimed || t.state == .spawning else { return }
        tickets[ExactKey(id)]!.state = .started
        _ = change(t.function, now: at) { fn, e in fn.started(key: t.key, rate: t.rate, at: at, &e) }
    }

    // MARK: - Time and limits

    /// Timers due at `now`: rate windows with room again are served; keys kept only by their
    /// window are dropped once it is empty.
    mutating func tick(now: Double) -> Outcome {
        var out = Outcome()
        while let (at, ref) = wakes.popDue(now) {
            out.granted += change(ref.function, now: now) { fn, e in fn.wake(key: ref.key, at: at, now: now, &e) }
        }
        while let (_, ref) = sweeps.popDue(now) {
            _ = change(ref.function, now: now) { fn, e in fn.sweep(key: ref.key, now: now, &e) }
        }
        return out
    }

    /// The limits of `function` as its sidecar says now (a raised limit grants more waiting
    /// deliveries a slot; a new key path hands every waiting delivery back, to be keyed anew).
    mutating func relimit(_ function: String, _ limits: FlowLimits, now: Double) -> Outcome {
        guard let fn = functions[function], fn.limits != limits else { return Outcome() }
        var evicted: [String] = []
        let granted = change(function, now: now) { fn, e in evicted = fn.relimit(limits, now: now, &e) }
        for id in evicted { waitingIds.remove(ExactKey(id)) }
        return Outcome(granted: granted, evicted: evicted)
    }

    /// The function is gone: every delivery waiting for it is handed back (to be routed anew).
    mutating func evict(_ function: String, now: Double) -> [String] {
        var evicted: [String] = []
        _ = change(function, now: now) { fn, e in evicted = fn.evictAll(now: now, &e) }
        for id in evicted { waitingIds.remove(ExactKey(id)) }
        return evicted
    }

    /// When the earliest rate timer is due.
    var nextWake: Double? { wakes.next }

    /// Whether a timer earlier than all before was armed since the last call.
    mutating func takeArmedEarlier() -> Bool {
        defer { armedEarlier = false }
        return armedEarlier
    }

    // MARK: - Reading

    /// Functions some delivery waits for.
    var waitedFor: [String] { functions.compactMap { $0.value.waitingCount > 0 ? $0.key : nil } }

    /// Deliveries waiting for `function`, whatever the reason.
    func waitingCount(_ function: String) -> Int { functions[function]?.waitingCount ?? 0 }

    /// Waiting deliveries by function and reason (functions with none left out).
    var waiting: [String: [WaitReason: Int]] {
        var out: [String: [WaitReason: Int]] = [:]
        for (name, fn) in functions where fn.waitingCount > 0 { out[name] = fn.waiting }
        return out
    }

    /// Slots of `function` held now (granted or running).
    func taken(_ function: String) -> Int { functions[function]?.running ?? 0 }

    /// Rate timers armed (one per rate window deliveries wait for, plus ones gone stale).
    var rateTimers: Int { wakes.count }

    /// State held: functions, keys, tickets, timers (tests check it stays bounded).
    var size: (functions: Int, keys: Int, tickets: Int, timers: Int) {
        (functions.count, functions.values.reduce(0) { $0 + $1.keys.count }, tickets.count, wakes.count + sweeps.count)
    }

    // MARK: - Applying a change

    /// Runs `body` on the state of `function` (created with `limits` if it has none), records
    /// what it granted and armed, and drops the state once nothing is left in it. Returns the
    /// ids granted. The state is taken out of the dictionary while it changes, so its queues are
    /// never copied.
    private mutating func change(_ function: String, limits: FlowLimits? = nil, now: Double,
                                 _ body: (inout FunctionFlow, inout FunctionFlow.Effects) -> Void) -> [String] {
        guard var fn = functions.removeValue(forKey: function) ?? limits.map({ FunctionFlow(limits: $0) }) else { return [] }
        var e = FunctionFlow.Effects()
        body(&fn, &e)
        let idle = fn.isIdle(now: now, &e)
        if !idle { functions[function] = fn }
        var granted: [String] = []
        for g in e.grants {
            waitingIds.remove(ExactKey(g.id))
            tickets[ExactKey(g.id)] = Ticket(function: function, key: g.key, rate: g.rate, state: .granted)
            granted.append(g.id)
        }
        for t in e.wakes {
            if wakes.next.map({ t.at < $0 }) ?? true { armedEarlier = true }
            wakes.push(t.at, TimerRef(function: function, key: t.key))
        }
        for t in e.sweeps { sweeps.push(t.at, TimerRef(function: function, key: t.key)) }
        return granted
    }
}
