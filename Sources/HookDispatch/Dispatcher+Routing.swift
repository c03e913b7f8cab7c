import HookSupport
import HookSpool
import HookNet
import HookHTTP
import HookVerify
import HookFetch

/// Routing by `user_metadata`: what the route table sees of a delivery, and the attempt a tie
/// between routes costs.
extension Dispatcher {
    /// The `user_metadata` a delivery is routed by, from its head (admission kept it as sent);
    /// nil: none (then only routes without `match` apply).
    func routingMetadata(_ d: DeliveryInfo) -> JSON? {
        d.head?.userMetadataJSON
    }

    /// Two or more routes tie for the delivery: the attempt fails naming them, like a run that
    /// failed — retried per policy (an edit to a sidecar may settle it meanwhile), dead at the end.
    /// The host's `HOOKHOST_MAX_ATTEMPTS` applies: no function's sidecar is the delivery's.
    func failRouteConflict(_ job: Job, type: String, functions names: [String], why: String) {
        let reason = "route conflict: " + why
        let nobody = ResolvedFunction(name: "", path: "", settings: FunctionSettings(), sidecarError: nil)
        let now = clock.now()
        var change = RunClassifier.change(for: job, function: nobody, attempt: RunClassifier.notStarted(reason), retry: config.retry,
                                          retryLaterFor: config.retryLaterFor, now: now, seconds: 0, unit: random())
        change.function = nil
        change.durationMs = nil
        spool.finish(change, .background)
        metrics.run(function: "", outcome: .failed, seconds: nil)
        let functions = LogValue.string(names.joined(separator: ","))
        if change.state == .dead {
            metrics.deadLetter(function: "")
            logger.warn("dead", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "functions": functions,
                                 "error": .string(change.error ?? reason)])
        } else {
            logger.warn("route conflict; retry scheduled", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt),
                                                            "functions": functions, "in_s": .double((change.nextAt ?? now) - now),
                                                            "error": .string(reason)])
        }
    }
}
