import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch
/// What the host started, in start order. `shutdown()` stops it in reverse order — what started
/// last depends on what started first — and each step returns only once its threads have exited,
/// so nothing is left to a sleep. A start that fails part-way shuts down what already runs.
/// Used on the main thread only.
struct ServiceGroup {
    private var steps: [(name: String, stop: () -> Void)] = []
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Starts `service` and records it.
    mutating func start(_ name: String, _ service: any Service) {
        service.start()
        steps.append((name, service.stop))
    }

    /// Records a component started by hand and how to stop it (stop and join, not just signal):
    /// for those whose stop needs arguments (the dispatcher's grace) or whose start returns a value.
    mutating func started(_ name: String, stop: @escaping () -> Void) { steps.append((name, stop)) }

    /// Stops everything, last started first.
    mutating func shutdown() {
        while let step = steps.popLast() {
            let t0 = monotonicNow()
            step.stop()
            logger.debug("shutdown: stopped", ["component": .string(step.name), "ms": .int(Int((monotonicNow() - t0) * 1000))])
        }
    }
}
