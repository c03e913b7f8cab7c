import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Why a drain cannot start (answered by the control socket, printed by `hookhost drain`).
public enum DrainError: Error, Equatable, CustomStringConvertible {
    case noPeerSecret
    case badURL(String)
    case badWait(String)
    case alreadyDraining

    public var description: String {
        switch self {
        case .noPeerSecret: "HOOKHOST_PEER_SECRET is not set on this host: a hand-over is signed with the secret the peer checks; set the same one on both"
        case .badURL(let u): "--handover must be an http:// or https:// URL with a host (a peer or the load balancer), not \"\(u)\""
        case .badWait(let w): "--wait must be seconds 0 … 86400, not \(w)"
        case .alreadyDraining: "a drain is already under way (GET /drain, or hookhost drain without options, shows it)"
        }
    }
}

/// A drain (`hookhost drain`, `POST /drain`, SIGTERM with `HOOKHOST_HANDOVER`): the host stops
/// taking deliveries (503, `/readyz` 503), lets what runs finish and what is due now start and
/// finish within the wait, and hands everything else unfinished to a peer — or, without one,
/// leaves it in the spool. One drain at a time; the host stays draining afterwards.
public final class Drainer: Sendable {
    let spool: Spool
    let dispatcher: Dispatcher
    let startDraining: @Sendable () -> Void
    let secret: PeerSecret?
    let origin: HandoverEnvelope.Origin
    let logger: Logger
    let metrics: Metrics
    /// The wait when none is given.
    let defaultWait: Double
    private let state = Mutex<DrainProgress>(DrainProgress())
    private let sender = Mutex<HandoverSender?>(nil)
    private let thread = Mutex<ThreadHandle?>(nil)
    private let running = Atomic<Bool>(false)
    private let wake = Monitor()

    init(spool: Spool, dispatcher: Dispatcher, secret: PeerSecret?, origin: HandoverEnvelope.Origin, defaultWait: Double,
         logger: Logger, metrics: Metrics, startDraining: @escaping @Sendable () -> Void) {
        self.spool = spool; self.dispatcher = dispatcher; self.secret = secret; self.origin = origin; self.defaultWait = defaultWait
        self.logger = logger; self.metrics = metrics; self.startDraining = startDraining
        metrics.describe("hookhost_handover_total", "Deliveries handed over between replicas by direction (sent, received) and outcome.")
        for outcome in ["accepted", "duplicate", "refused", "failed"] {
            metrics.add("hookhost_handover_total", labels: [("direction", "sent"), ("outcome", outcome)], 0)
        }
    }

    /// Where hand-overs go: the URL as given, or with `/hookhost/handover` when it names no path.
    public static func target(_ text: String) -> Result<FetchURL, DrainError> {
        guard let u = FetchURL(text) else { return .failure(.badURL(URLRedaction.withoutQuery(String(text.prefix(200))))) }
        guard u.target == "/" || u.target.isEmpty else { return .success(u) }
        guard let full = FetchURL("\(u.scheme)://\(u.authority)\(HandoverReceiver.path)") else { return .failure(.badURL(u.redacted)) }
        return .success(full)
    }

    /// Checks the request and starts the drain on a thread of its own; the progress at once.
    /// `bounded`: the hand-over must end within `wait` too (at shutdown).
    public func start(handover: String?, wait: Double?, bounded: Bool = false) -> Result<DrainProgress, DrainError> {
        var url: FetchURL?
        if let handover {
            guard secret != nil else { return .failure(.noPeerSecret) }
            switch Drainer.target(handover) {
            case .success(let u): url = u
            case .failure(let e): return .failure(e)
            }
        }
        let seconds = wait ?? defaultWait
        guard seconds.isFinite, seconds >= 0, seconds <= 86_400 else { return .failure(.badWait("\(seconds)")) }
        // Under the thread's lock: once the flag is taken, `join` finds the drain's thread.
        let started = thread.withLock { slot -> Bool in
            guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return false }
            slot.take()?.join()  // the last drain's thread, past its end
            begin(url)
            slot = startThread(name: "drain") { [self, url] in drain(url, wait: seconds, bounded: bounded) }
            return true
        }
        return started ? .success(progress) : .failure(.alreadyDraining)
    }

    /// Drains to the end (SIGTERM), the hand-over included within `wait`, after a drain under way.
    public func run(handover: String, wait: Double) {
        for _ in 0..<10 {
            switch start(handover: handover, wait: wait, bounded: true) {
            case .success: return join()
            case .failure(.alreadyDraining): join()
            case .failure(let e): return logger.error("no hand-over at shutdown", ["reason": .string(e.description)])
            }
        }
    }

    /// Joins a drain thread still running (at shutdown).
    public func join() { thread.withLock { $0.take() }?.join() }

    public var progress: DrainProgress {
        var p = state.withLock { $0 }
        if !p.done, let s = sender.withLock({ $0 }) {
            let c = s.counts
            p.toHandOver = c.pending; p.handedOver = c.handedOver; p.failed = c.failed
        }
        return p
    }

    private func begin(_ url: FetchURL?) {
        startDraining()
        state.withLock { p in
            p = DrainProgress()
            p.draining = true
            p.handover = url?.redacted
        }
    }

    /// Every unfinished delivery, under way or not.
    private func unfinished() -> [DeliveryInfo] {
        [DeliveryState.received, .retryScheduled, .fetched, .running, .fetching].flatMap { spool.list(state: $0) }
    }

    private func drain(_ url: FetchURL?, wait: Double, bounded: Bool) {
        defer { running.store(false, ordering: .releasing) }
        let deadline = monotonicNow() + wait
        let held: (DeliveryInfo) -> Bool = { [dispatcher] in dispatcher.isHeldByPause($0) }
        let plan = DrainPlan.plan(unfinished(), now: spool.clock.now(), heldByPause: held)
        let allowed = plan[.finishHere] ?? []
        dispatcher.restrictStarts(to: Set(allowed))
        let s = url.flatMap { u in secret.map { HandoverSender(url: u, secret: $0, spool: spool, origin: origin, logger: logger, metrics: metrics) } }
        sender.withLock { $0 = s }
        s?.enqueue(plan[.handOver] ?? [])
        logger.info("drain: started", ["handover": .string(url?.redacted ?? "none"), "wait_s": .double(wait),
                                       "running": .int(plan[.running]?.count ?? 0), "due": .int(allowed.count),
                                       "to_hand_over": .int(url == nil ? 0 : plan[.handOver]?.count ?? 0)])
        var waitRanOut = false
        while true {
            let running = spool.list(state: .running).count + spool.list(state: .fetching).count
            let due = DrainPlan.stillDue(allowed.map { spool.info($0) }, now: spool.clock.now(), heldByPause: held)
            state.withLock { $0.running = running; $0.due = due }
            if running == 0 && due == 0 { break }
            let left = deadline - monotonicNow()
            if left <= 0 { waitRanOut = true; break }
            wake.locked { wake.wait(seconds: min(0.1, left)) }
        }
        // From here nothing starts: what is not under way now can be handed over safely.
        dispatcher.closeStarts()
        // A delivery that passed the draining check just before it closed is still being written:
        // it joins the list only once stored, and left out it would stay here unreported.
        let writes = monotonicNow() + 2
        while spool.admissionsInFlight > 0 && monotonicNow() < writes { wake.locked { wake.wait(seconds: 0.005) } }
        if let s {
            s.enqueue(unfinished().filter { DrainPlan.fateAtClose($0) == .handOver }.map(\.id))
            s.finish(by: bounded ? deadline : nil)
        }
        finish(url: url, sender: s, waitRanOut: waitRanOut)
    }

    private func finish(url: FetchURL?, sender s: HandoverSender?, waitRanOut: Bool) {
        let left = unfinished()
        let running = left.filter { DrainPlan.fateAtClose($0) == .running }.count
        let c = s?.counts
        let refusal = s?.refusal
        var p = state.withLock { $0 }
        p.running = running
        p.due = url == nil ? left.filter { $0.isDue(now: spool.clock.now()) && !dispatcher.isHeldByPause($0) }.count : 0
        p.toHandOver = url == nil ? 0 : left.count - running
        p.handedOver = c?.handedOver ?? 0
        p.failed = c?.failed ?? 0
        p.left = left.count
        if let refusal {
            p.reason = "the hand-over stopped: \(refusal); \(left.count) unfinished deliveries stay here"
        } else if let c, c.failed > 0 {
            p.reason = "\(c.failed) hand-overs failed (last: \(c.lastFailure ?? "?")); \(left.count) unfinished deliveries stay here"
        } else if running > 0 {
            p.reason = "the wait ran out with \(running) still running; they stay here"
        } else if waitRanOut && url == nil {
            p.reason = "the wait ran out with \(p.due) due deliveries not started; they stay here"
        } else if url == nil && !left.isEmpty {
            p.reason = "no hand-over: \(left.count) unfinished deliveries stay in the spool (they run when a host starts on this data directory again)"
        }
        p.ok = url == nil ? !waitRanOut && running == 0 : left.isEmpty
        p.done = true
        state.withLock { $0 = p }
        sender.withLock { $0 = nil }
        logger.log(p.ok ? .info : .warn, p.ok ? "drain: ended" : "drain: ended with deliveries left",
                   ["handed_over": .int(p.handedOver), "failed": .int(p.failed), "left": .int(p.left), "running": .int(p.running),
                    "reason": .string(p.reason ?? "")])
    }
}
