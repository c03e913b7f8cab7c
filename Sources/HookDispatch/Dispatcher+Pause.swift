import HookSupport
import HookSpool
import HookNet
import HookHTTP
import HookVerify
import HookFetch

/// Paused functions: their deliveries are still accepted and stored, but wait in the work queue
/// under the function's pause key — holding no worker, no slot, spending no attempt — until
/// `resume` makes them due again. A run under way when the pause came finishes.
extension Dispatcher {
    /// The work-queue key a paused function's deliveries wait under.
    static func pauseKey(_ function: String) -> String { "paused:" + function }

    /// Connects the pauses to the queue: a pause waits until no start that looked before it is
    /// still under way; a resume makes the function's waiting deliveries due again.
    func watchPauses() {
        let gate = startGate, queue = queue, pauses = pauses, table = table
        pauses.observe(paused: { _ in gate.writing {} }, resumed: { name in queue.release(Dispatcher.pauseKey(name)) })
        metrics.describe("hookhost_function_paused", "1 while the function is paused (hookhost functions pause), else 0.")
        metrics.sampledGauges { Dispatcher.pauseGauges(pauses: pauses, table: table, queue: queue) }
    }

    /// Parks `id` until `function` is resumed — unless it was resumed meanwhile: the resume
    /// clears the pause before it releases the key, and `park` asks under the lock the release
    /// takes, so a resume between the caller's look and this park is never missed.
    func parkWhilePaused(_ id: String, function: String) {
        let pauses = pauses
        queue.park(id, under: Dispatcher.pauseKey(function), unlessFreed: { !pauses.isPaused(function) })
    }

    /// `start()` (a run's or a download's start, which spends an attempt) unless `function` was
    /// paused since the caller looked: then the delivery is parked and nil returned. Under the
    /// start gate, so `pause` returns only once every start that missed it is done.
    func startUnlessPaused(_ id: String, function: String, _ start: () -> StartedDelivery?) -> StartedDelivery? {
        startGate.reading {
            // A drain hands it to a peer (or leaves it): it stays unstarted in the store.
            guard drainGate.mayStart(id) else { return nil }
            if pauses.isPaused(function) {
                parkWhilePaused(id, function: function)
                return nil
            }
            return start()
        }
    }

    /// `hookhost_function_paused{function}` (1 paused, 0 not) for every function in the directory
    /// and every paused name, and `hookhost_waiting{function,reason="paused"}`: deliveries parked
    /// for it now.
    static func pauseGauges(pauses: FunctionPauses, table: FunctionTable, queue: WorkQueue) -> [(String, Double)] {
        let paused = pauses.list
        let names = Set(table.routableNames()).union(paused.names).sorted()
        var out: [(String, Double)] = names.map { ("hookhost_function_paused" + Metrics.render([("function", $0)]), paused.contains($0) ? 1 : 0) }
        for name in names {
            let waiting = paused.contains(name) ? queue.parkedCount(under: Dispatcher.pauseKey(name)) : 0
            out.append(("hookhost_waiting" + Metrics.render([("function", name), ("reason", "paused")]), Double(waiting)))
        }
        return out
    }
}
