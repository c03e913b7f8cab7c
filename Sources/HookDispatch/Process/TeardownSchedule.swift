import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// When a run's process group is signalled and when its supervision ends, decided from the clock
/// and what has happened so far. No I/O: the supervisor asks it what to do next, does that, and
/// tells it when the leader has exited.
///
/// Until `deadline` it waits for the leader. At the deadline the run has timed out and the
/// teardown steps begin: a `.signal` is due at once, a `.wait` holds the steps after it back,
/// and the steps stop as soon as the leader exits. Once the leader has exited, supervision ends
/// when its output pipes are drained, or `drainGrace` seconds after the exit when a background
/// child still holds them open.
struct TeardownSchedule {
    enum Action: Equatable {
        /// Send this signal to the process group now, then ask again.
        case signalGroup(Int32)
        /// Move output and watch the leader until this time (or until something happens), then ask again.
        case waitUntil(Double)
        /// No step is left: move output until the leader exits, then ask again.
        case waitForExit
        /// Supervision is over: kill what is left of the group and reap the leader.
        case finish
    }

    let deadline: Double
    let drainGrace: Double
    private var steps: ArraySlice<TeardownStep>
    /// When the next step is due; nil before the timeout.
    private var nextStepAt: Double?
    /// The deadline passed before the leader exited.
    private(set) var timedOut = false
    /// When the leader was seen to have exited.
    private(set) var exitedAt: Double?

    init(deadline: Double, steps: [TeardownStep], drainGrace: Double = 0.5) {
        self.deadline = deadline
        self.drainGrace = drainGrace
        self.steps = steps[...]
    }

    /// The leader was seen to have exited at `now` (later reports change nothing).
    mutating func leaderExited(at now: Double) {
        if exitedAt == nil { exitedAt = now }
    }

    /// What to do at `now`; `outputOpen`: stdout or stderr may still bring bytes.
    mutating func next(now: Double, outputOpen: Bool) -> Action {
        if let exitedAt {
            return !outputOpen || now >= exitedAt + drainGrace ? .finish : .waitUntil(exitedAt + drainGrace)
        }
        if !timedOut {
            guard now >= deadline else { return .waitUntil(deadline) }
            timedOut = true
            nextStepAt = now
        }
        while let at = nextStepAt, now >= at, let step = steps.popFirst() {
            switch step {
            case .signal(let signal): return .signalGroup(signal)
            case .wait(let seconds): nextStepAt = now + seconds
            }
        }
        // A wait with no step after it has nothing to wait for.
        if let at = nextStepAt, !steps.isEmpty { return .waitUntil(at) }
        return .waitForExit
    }
}
