import Dispatch
import Synchronization
import HookSupport
import HookSpool
import HookFetch

extension Host {
    /// With `HOOKHOST_RECONCILE_EVERY`, runs `Reconciler.run` at start and then at that period,
    /// on a queue of its own: the listing calls can take seconds and never hold the event loops
    /// or the workers. Without an API key it says so once and stays off (the host still serves
    /// webhooks).
    func startReconcileTimer(spool: Spool, reporting: ReconcileAdmission.Reporting, draining: @escaping @Sendable () -> Bool,
                             into services: inout ServiceGroup) {
        guard config.reconcileEvery > 0 else { return }
        let reconciler: Reconciler
        let stopping = ReconcileStop()
        do {
            var api = try config.geminiAPI()
            // A run under way when the host stops ends at once, even inside a request: a slow or
            // hung API would otherwise hold the shutdown for every remaining page's timeout.
            api.isCancelled = { stopping.isSet }
            reconciler = Reconciler(api: api)
        } catch {
            return logger.error("reconcile: HOOKHOST_RECONCILE_EVERY is set but no run can list jobs; it stays off", ["error": .string(error.description)])
        }
        reporting.metrics?.describe("hookhost_reconcile_runs_total", "In-host reconcile runs by outcome (ok: the listing succeeded, failed: the API call failed).")
        let runs = reporting.metrics?.indexedCounter("hookhost_reconcile_runs_total", label: "outcome", values: ["ok", "failed"])
        let window = config.reconcileWindow, logger = logger, clock = spool.clock
        let queue = DispatchQueue(label: "hookhost.reconcile", qos: .utility)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: config.reconcileEvery, leeway: .seconds(1))
        timer.setEventHandler {
            // Draining: nothing admitted here would run (see `SpoolAdmin.admitSynthesized`).
            if draining() { return logger.debug("reconcile: no run while the host is draining") }
            do throws(GeminiAPIError) {
                // Asked again after the listing: a drain may have begun meanwhile.
                let r = try reconciler.run(into: spool, now: clock.now(), window: window, reporting: reporting, mayAdmit: { !draining() })
                runs?.add("ok")
                let level: LogLevel = r.admitted > 0 || r.failed > 0 ? .info : .debug
                logger.log(level, "reconcile: run done", ["listed": .int(r.listed), "recovered": .int(r.admitted), "failed": .int(r.failed)])
            } catch {
                if case .cancelled = error { return logger.info("reconcile: run stopped by the shutdown; the next start runs again") }
                runs?.add("failed")
                logger.warn("reconcile: listing jobs failed; the next run tries again", ["error": .string(error.description)])
            }
        }
        timer.resume()
        logger.info("reconcile: running every \(SettingRange.format(config.reconcileEvery)) s over the last \(SettingRange.format(window)) s",
                    ["api": .string(reconciler.api.description)])
        // A listing under way is cancelled; admissions under way finish first (each durable or
        // refused, within the spool's group commit), then no other run starts.
        services.started("reconcile timer") { stopping.set(); timer.cancel(); queue.sync {} }
    }
}

/// Set once when the host stops; read by the reconcile run's API calls from its own queue.
final class ReconcileStop: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
