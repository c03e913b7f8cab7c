import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct SweepPlanTests {
    let host: Int32 = 100
    var procs: [ProcStat] {
        [ProcStat(pid: 1, comm: "init", state: "S", ppid: 0, pgrp: 1),
         ProcStat(pid: 200, comm: "leader", state: "S", ppid: host, pgrp: 200),          // owned function leader
         ProcStat(pid: 201, comm: "leader", state: "Z", ppid: host, pgrp: 201),          // owned, exited: its supervisor reaps it
         ProcStat(pid: 300, comm: "sleep", state: "Z", ppid: host, pgrp: 250),           // dead orphan
         ProcStat(pid: 301, comm: "sleep", state: "S", ppid: host, pgrp: 301),           // live orphan, finished delivery
         ProcStat(pid: 302, comm: "helper", state: "S", ppid: host, pgrp: 302),          // live orphan, running delivery
         ProcStat(pid: 400, comm: "grandchild", state: "S", ppid: 200, pgrp: 200)]       // not ours (yet)
    }

    @Test func reapsZombiesKillsOrphansSparesRunningDeliveriesHelpers() {
        let plan = SweepPlan.make(processes: procs, host: host, owned: [200, 201], final: false) { $0 == 302 ? "wh_running" : nil }
        #expect(plan == SweepPlan(reap: [300], kill: [301], spared: [302]))
    }

    @Test func finalSweepSparesNothing() {
        let plan = SweepPlan.make(processes: procs, host: host, owned: [200, 201], final: true) { _ in "wh_running" }
        #expect(plan == SweepPlan(reap: [300], kill: [301, 302], spared: []))
    }
}
