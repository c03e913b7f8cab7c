import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// What one sweep does with the host's children. Pure: decided from a process list.
struct SweepPlan: Equatable {
    /// Dead already: reap them.
    var reap: [Int32] = []
    /// Alive and belonging to no running function: SIGKILL, then reap.
    var kill: [Int32] = []
    /// Alive, detached by a function that is still running: left until it ends.
    var spared: [Int32] = []

    /// `owned`: function leaders, reaped by their own supervisor and never touched here.
    /// `runningDelivery`: for a live orphan, the delivery id in its environment when that
    /// delivery's function is still running (nil: unreadable, absent or finished).
    static func make(processes: [ProcStat], host: Int32, owned: Set<Int32>, final: Bool,
                     runningDelivery: (Int32) -> String?) -> SweepPlan {
        var plan = SweepPlan()
        for p in processes where p.ppid == host && !owned.contains(p.pid) {
            if p.isZombie { plan.reap.append(p.pid) }
            else if !final, runningDelivery(p.pid) != nil { plan.spared.append(p.pid) }
            else { plan.kill.append(p.pid) }
        }
        return plan
    }
}
