import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

extension Dispatcher {
    /// Stops taking work and ends running functions politely, like a timeout: SIGTERM to every
    /// running function's group at once, up to `grace` seconds for them to exit, then SIGKILL
    /// for what is left. A run that ends after the SIGTERM with anything but a deliberate answer
    /// (exit 0, 65, 75) was cut short by the shutdown: it records nothing and resumes at the next
    /// start with attempt + 1, spending no attempt. Returns once every worker has exited, so each
    /// state change a worker made is queued for the spool writer before the caller stops it.
    public func drain(grace: Double) { drain(TeardownStep.shutdown(grace: grace)) }

    /// The drain with its steps as data (tests use short waits).
    func drain(_ steps: [TeardownStep]) {
        taking.store(false, ordering: .relaxed)
        flow.watch.withLock { $0 }?.stop()
        queue.stop()
        // Downloads stop being handed out at once; one under way finishes or is left `fetching`.
        fetch?.stop(until: monotonicNow())
        // From here on no new function starts: a worker that took a delivery leaves it
        // `running` on disk, so it resumes at the next start.
        stopSpawning.store(true, ordering: .relaxed)
        let workers = workerThreads.withLock { $0 }
        for step in steps {
            switch step {
            case .signal(let sig):
                // Under the ActiveRuns lock: a pid leaves the set (same lock) before it is reaped,
                // so every pid signalled here still names our function's group; a function that
                // starts after this gets the same signal as it is added.
                for (pid, id) in activeRuns.signalAll(sig) {
                    if sig == SIGKILL {
                        logger.warn("shutdown: killed function still running after the grace period", ["id": .string(id), "pid": .int(Int(pid))])
                    } else {
                        logger.info("shutdown: asked running function to stop", ["id": .string(id), "pid": .int(Int(pid)), "signal": .int(Int(sig))])
                    }
                }
            case .wait(let seconds):
                // Wait for the workers themselves, not just for running functions: a worker may
                // be between taking a delivery and starting its function. Ends early once all exited.
                let deadline = monotonicNow() + seconds
                for w in workers { w.join(until: deadline) }
            }
        }
        // A killed run returns at once (its worker records nothing, see `launch`); a worker still
        // stuck after that (a process that SIGKILL cannot end) is left behind, and said so.
        let stuckBy = monotonicNow() + Dispatcher.killedRunExitTimeout
        let stuck = workers.filter { !$0.join(until: stuckBy) }.count
        fetch?.stop(until: monotonicNow() + 1)
        if stuck > 0 { logger.error("shutdown: workers did not exit after their functions were killed", ["workers": .int(stuck)]) }
    }

    /// Whether a run that ended during the drain was cut short by it (signalled, timed out, or an
    /// exit that is not one of the contract's deliberate answers).
    static func cutShortByShutdown(_ t: ProcessResult.Termination) -> Bool {
        if case .exited(let code) = t { return ![0, 65, 75].contains(code) }
        return true
    }

    /// Seconds a worker gets to return once its function was SIGKILLed at the end of the grace period.
    static let killedRunExitTimeout: Double = 5
}
