import Dispatch
import HookSupport
import HookSpool
import HookFetch

extension Host {
    /// With `HOOKHOST_RECONCILE_EVERY`, runs `Reconciler.run` at start and then at that period,
    /// on a queue of its own: the listing calls can take seconds and never hold the event loops
    /// or the workers. Without an API key it says so once and stays off (the host still serves
    /// webhooks).
    func startReconcileTimer(spool: Spool, reporting: ReconcileAdmission.Reporting, into services: inout ServiceGroup) {
        guard config.reconcileEvery > 0 else { return }
        let reconciler: Reconciler
        do { reconciler = Reconciler(api: try config.geminiAPI()) } catch {
            return logger.error("reconcile: HOOKHOST_RECONCILE_EVERY is set but no run can list jobs; it stays off", ["error": .string(error.description)])
        }
        reporting.metrics?.describe("hookhost_reconcile_runs_total", "In-host reconcile runs by outcome (ok: the listing succeeded, failed: the API call failed).")
        let runs = reporting.metrics?.indexedCounter("hookhost_reconcile_runs_total", label: "outcome", values: ["ok", "failed"])
        let window = config.reconcileWindow, logger = logger, clock = spool.clock
        let queue = DispatchQueue(label: "hookhost.reconcile", qos: .utility)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: config.reconcileEvery, leeway: .seconds(1))
        timer.setEventHandler {
            do throws(GeminiAPIError) {
                let r = try reconciler.run(into: spool, now: clock.now(), window: window, reporting: reporting)
                runs?.add("ok")
                let level: LogLevel = r.admitted > 0 || r.failed > 0 ? .info : .debug
                logger.log(level, "reconcile: run done", ["listed": .int(r.listed), "recovered": .int(r.admitted), "failed": .int(r.failed)])
            } catch {
                runs?.add("failed")
                logger.warn("reconcile: listing jobs failed; the next run tries again", ["error": .string(error.description)])
            }
        }
        timer.resume()
        logger.info("reconcile: running every \(SettingRange.format(config.reconcileEvery)) s over the last \(SettingRange.format(window)) s",
                    ["api": .string(reconciler.api.description)])
        // A run under way finishes first (its admissions are durable or refused), then no other starts.
        services.started("reconcile timer") { timer.cancel(); queue.sync {} }
    }
}
