import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

extension PosixProcessLauncher {
    /// Pumps the run's bytes until its `TeardownSchedule` says it is over, signalling the group
    /// when the schedule says so; then kills what is left of the group and reaps the leader.
    func supervise(pid: pid_t, pump: consuming ProcessPump, spec: ProcessSpec, started: Double) -> ProcessResult {
        var pump = pump
        var schedule = TeardownSchedule(deadline: started + spec.timeout, steps: spec.teardown)
        var exit: ProcessResult.Termination?
        supervising: while true {
            let now = monotonicNow()
            if exit == nil, let status = PosixProcessLauncher.exitStatus(of: pid) {
                exit = status
                schedule.leaderExited(at: now)
            }
            switch schedule.next(now: now, outputOpen: pump.outputOpen) {
            // The leader is not reaped until after the teardown, so `pid` still names our group.
            case .signalGroup(let signal): killpg(pid, signal)
            case .waitUntil(let time): pump.transfer(now: now, until: time, watchingLeader: exit == nil)
            case .waitForExit: pump.transfer(now: now, until: nil, watchingLeader: exit == nil)
            case .finish: break supervising
            }
        }
        // Leave nothing of the group behind (background children, a hung grandchild). The leader
        // is an unreaped zombie here, so `pid` still names this group and no other.
        killpg(pid, SIGKILL)
        let output = pump.finish()
        spec.onExit?(pid)
        if let reaper { reaper.release(pid) } else {
            var status: Int32 = 0
            _ = retryingEINTR { waitpid(pid, &status, 0) }
        }
        return ProcessResult(termination: schedule.timedOut ? .timedOut : exit ?? .exited(0), stdout: output.stdout,
                             stdoutTruncated: output.stdoutTruncated, stderrTail: output.stderrTail,
                             duration: monotonicNow() - started, pid: pid)
    }

    /// How the leader ended, once it has; it is left unreaped, so the zombie keeps the group id
    /// ours until the group is killed.
    static func exitStatus(of pid: pid_t) -> ProcessResult.Termination? {
        var code: Int32 = -1, signal: Int32 = -1
        let r = hh_exited_nowait(pid, &code, &signal)
        if r == 1 { return code >= 0 ? .exited(code) : .signaled(signal) }
        // ECHILD: reaped by someone else (cannot happen while the reaper owns it); do not spin.
        if r < 0 && errno == ECHILD { return .signaled(0) }
        return nil
    }
}
