import HookSupport
import HookSpool
import HookNet
import HookHTTP
import HookVerify
import HookFetch

/// Flow control: the claim of a slot (concurrency per function and per key, rate windows) before
/// a run, its release after, the watch that fires rate timers, and `hookhost_waiting`. The flow
/// table's times are `monotonicNow()`: a wall clock set back must not hold a rate window shut.
extension Dispatcher {
    /// Resolves the function and claims a slot in the flow table — one granted to the delivery
    /// already, or one free now — or leaves it waiting there (`.waiting`: no start record, no
    /// attempt, no worker). A slot granted to a delivery that does not use it (its function
    /// changed, or it is skipped) is given back, and what that grants joins `handedOver`.
    func claim(_ d: DeliveryInfo, handedOver: inout [String]) -> Claim {
        let type = d.type
        let r = EventType.isValid(type) ? functions.route(type: type, userMetadata: routingMetadata(d)) : nil
        let f: ResolvedFunction
        switch r {
        case nil:
            handedOver += cancelGrant(d.id)
            return .invalid
        case .noFunction(let notExecutable):
            handedOver += cancelGrant(d.id)
            return .skip(notExecutable: notExecutable)
        case .conflict(let names, let why):
            handedOver += cancelGrant(d.id)
            return .conflict(functions: names, why: why)
        case .run(let g, _):
            // The host's own events go to a function that takes them, never to the catch-all.
            if g.name == "_default" && DeadLetterEvents.isHostEvent(type) {
                handedOver += cancelGrant(d.id)
                return .skip(notExecutable: [])
            }
            f = g
        }
        // Paused: it waits holding neither a worker nor a slot, and spends no attempt.
        if pauses.isPaused(f.name) {
            handedOver += cancelGrant(d.id)
            parkWhilePaused(d.id, function: f.name)
            return .waiting
        }
        let limits = FlowLimits(f.settings)
        let key = limits.key(type: type, userMetadata: routingMetadata(d))
        let now = monotonicNow()
        let (claimed, outcome) = flow.withLock { $0.claim(d.id, function: f.name, key: key, limits: limits, now: now) }
        makeDue(outcome)
        return claimed == .run ? .run(f) : .waiting
    }

    /// Gives back the slot of a run that ended: the delivery granted it next is returned, for
    /// the calling worker to run (it is free now).
    func giveBack(_ id: String) -> [String] {
        let now = monotonicNow()
        return handOver(flow.withLock { $0.release(id, now: now) })
    }

    /// Gives back a slot granted to `id` that it will not use (nothing when it holds none, or a
    /// worker claimed it).
    func cancelGrant(_ id: String) -> [String] {
        let now = monotonicNow()
        return handOver(flow.withLock { $0.cancel(id, now: now) })
    }

    /// The first delivery granted goes to the calling worker; any others are made due for the
    /// other workers.
    private func handOver(_ outcome: FlowTable.Outcome) -> [String] {
        var o = outcome
        guard !o.granted.isEmpty else { makeDue(o); return [] }
        let first = o.granted.removeFirst()
        makeDue(o)
        return [first]
    }

    /// Deliveries granted a slot are made due (whoever takes one finds its slot in the table);
    /// evicted ones are made due to be routed and claimed anew.
    private func makeDue(_ o: FlowTable.Outcome) {
        for id in o.granted { queue.requeue(id) }
        for id in o.evicted { queue.requeue(id) }
    }

    /// The worker is about to start `id`'s process (a run that ends without `flowStarted`
    /// counts in its rate window from its end).
    func flowSpawning(_ id: String) {
        flow.withLock { $0.spawning(id) }
    }

    /// `id`'s process exists: its rate window counts it from now.
    func flowStarted(_ id: String) {
        let now = monotonicNow()
        flow.withLock { $0.started(id, at: now) }
    }

    // MARK: - The watch

    func startFlowWatch() {
        let watch = BackgroundLoop(name: "flow-watch", every: { [self] in flowWatchInterval() }) { [self] _ in flowWatchTick() }
        flow.watch.withLock { $0 = watch }
        watch.start()
    }

    /// Until the earliest rate timer, at most a second (the look at changed limits).
    private func flowWatchInterval() -> Double {
        let now = monotonicNow()
        let unblockDue = lastUnblock.withLock { $0 } + 1 - now
        let wake = flow.withLock { $0.nextWake }.map { $0 - now } ?? 1
        return max(0.0005, min(1, unblockDue, wake))
    }

    private func flowWatchTick() {
        guard taking.load(ordering: .relaxed) else { return }
        let now = monotonicNow()
        makeDue(flow.withLock { $0.tick(now: now) })
        let due = lastUnblock.withLock { last in
            guard now - last >= 1 else { return false }
            last = now
            return true
        }
        if due { unblockWaiting() }
    }

    /// Waiting deliveries whose function was removed, or whose limits changed (a sidecar edit),
    /// since they began waiting: a removed function's are routed anew, a raised limit grants
    /// them slots. Otherwise such an edit took effect for them only when a running delivery of
    /// the function ended — with a long run, minutes or hours later.
    func unblockWaiting() {
        let now = monotonicNow()
        for name in flow.withLock({ $0.waitedFor }) {
            guard taking.load(ordering: .relaxed) else { return }
            if let f = functions.function(named: name) {
                let limits = FlowLimits(f.settings)
                makeDue(flow.withLock { $0.relimit(name, limits, now: now) })
            } else {
                for id in flow.withLock({ $0.evict(name, now: now) }) { queue.requeue(id) }
            }
        }
    }

    // MARK: - Metrics

    /// `hookhost_waiting{function,reason}`: every function in the directory (and any with
    /// deliveries waiting) and every reason, at zero when none waits; one series per function
    /// and reason, never per key.
    func registerWaitingGauge() {
        metrics.describe("hookhost_waiting", "Deliveries waiting to start without a worker, by function and reason (concurrency, key, rate, paused).")
        let series = series, flow = flow
        metrics.sampledGauges {
            let counts = flow.withLock { $0.waiting }
            var out: [(String, Double)] = []
            for name in Set(series.names).union(counts.keys).sorted() {
                for reason in WaitReason.allCases {
                    out.append(("hookhost_waiting" + Metrics.render([("function", name), ("reason", reason.rawValue)]),
                                Double(counts[name]?[reason] ?? 0)))
                }
            }
            return out
        }
    }
}
