import CSys
import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Kills and reaps whatever functions leave behind. The host is a child subreaper (or PID 1), so
/// every orphan of a function — a `setsid` child, a double fork — is re-parented to it. The
/// launcher registers each function leader here; any *other* child of the host is an orphan:
/// reaped when dead, SIGKILLed (then reaped) when alive, unless its environment names a delivery
/// whose function is still running (a detached helper lives until its function ends).
public final class Reaper: Service {
    /// Function leaders by pid → their delivery id. Held across spawn + register so a sweep can
    /// never see a fresh leader that is not registered yet and take it for an orphan.
    /// Shared by every Reaper of the process: another one's leader is not an orphan either
    /// (one host has one Reaper; tests run several dispatchers side by side).
    private static let owned = Mutex<[Int32: String]>([:])
    private let host: Int32
    /// How /proc numbers our children; it may belong to an outer pid namespace.
    private let proc: ProcNamespace
    private let logger: Logger
    /// A function ended since the last sweep (the sweeping loop has been poked for it).
    private let dirty = Atomic<Bool>(false)
    /// Sweeps soon after a function ends (at most every `coalesce` seconds) and every second regardless.
    private let loop = Mutex<BackgroundLoop?>(nil)
    private static let coalesce = 0.05

    public init(logger: Logger) {
        self.host = getpid()
        self.proc = ProcNamespace.current()
        self.logger = logger
        if let inProc = proc.selfPid {
            if proc.levels > 1 {
                logger.info("reaper: /proc belongs to an outer pid namespace; its pids are translated", ["host_pid_in_proc": .int(Int(inProc))])
            }
        } else {
            logger.warn("reaper: /proc does not show this process; processes functions detach are reaped when they exit but not killed")
        }
    }

    /// Makes the host the reaper of its descendants' orphans (automatic for PID 1).
    public static func becomeSubreaper() -> Bool { getpid() == 1 || hh_set_child_subreaper() == 0 }

    /// Runs `spawn` (which returns the new leader's pid) and registers the pid, under the lock.
    func spawning<E: Error>(delivery: String, _ spawn: () throws(E) -> Int32) throws(E) -> Int32 {
        try Reaper.owned.withLock { (o: inout [Int32: String]) throws(E) -> Int32 in
            let pid = try spawn()
            o[pid] = delivery
            return pid
        }
    }

    /// The leader has exited and its group was killed: unregister it, reap it, and have what it
    /// left behind swept. Unregister and reap happen together under the lock, so no sweep reaps
    /// it first and its pid is not reused while still registered. The sweep itself runs on the
    /// reaper thread: scanning /proc costs about as much as a spawn, so the worker does not wait
    /// for it and sweeps after many quick functions are coalesced.
    func release(_ pid: Int32) {
        Reaper.owned.withLock { o in
            o.removeValue(forKey: pid)
            var st: Int32 = 0
            _ = retryingEINTR { waitpid(pid, &st, 0) }
        }
        // Only the first release since the last sweep wakes the reaper thread: with quick
        // functions ending hundreds of times a second, a signal (and the lock) per release only
        // cut its coalescing pause short to wait again.
        if !dirty.exchange(true, ordering: .acquiringAndReleasing) {
            loop.withLock { $0 }?.poke()
        }
    }

    /// One pass over the host's children (a few more right after kills, so children of a killed
    /// orphan, re-parented to us in turn, go too). `final` spares nothing: the host is leaving.
    @discardableResult
    public func sweep(final: Bool = false) -> (reaped: Int, killed: Int) {
        var reaped = 0, killed = 0
        for _ in 0..<5 {
            let plan = Reaper.owned.withLock { o -> SweepPlan in
                let running = Set(o.values)
                let kids = Reaper.children(in: proc, host: host)
                let procPids = Dictionary(kids.map { ($0.stat.pid, $0.procPid) }, uniquingKeysWith: { a, _ in a })
                let plan = SweepPlan.make(processes: kids.map(\.stat), host: host, owned: Set(o.keys), final: final) { pid in
                    // environ is bounded by ARG_MAX-sized limits; a cut copy could hide the id, so read it all.
                    guard let procPid = procPids[pid], let env = FileSystem.read("/proc/\(procPid)/environ", limit: 8 << 20),
                          let id = environValue(env, "HOOKHOST_DELIVERY_ID"), running.contains(id) else { return nil }
                    return id
                }
                // Still under the lock: these are unowned children of ours, so only this code
                // reaps them and their pids cannot be reused before the kill lands.
                for pid in plan.kill { kill(pid, SIGKILL) }
                for pid in plan.reap {
                    var st: Int32 = 0
                    if waitpid(pid, &st, WNOHANG) == pid { reaped += 1 }
                }
                // SIGKILL always lands, so waiting is bounded; and once a killed process can be
                // reaped, the kernel has already handed its children to us for the next pass.
                for pid in plan.kill {
                    var st: Int32 = 0
                    if retryingEINTR({ waitpid(pid, &st, 0) }) == pid { reaped += 1 }
                }
                return plan
            }
            killed += plan.kill.count
            if !plan.kill.isEmpty {
                logger.debug("reaper: killed processes left by finished functions", ["pids": .string(plan.kill.map(String.init).joined(separator: ","))])
            }
            if plan.kill.isEmpty { break }
        }
        reaped += reapUnseenZombies()
        return (reaped, killed)
    }

    /// Reaps dead children the /proc pass did not see (/proc missing, of another namespace, or a
    /// child that died after it was read), asking the kernel instead. `waitid(WNOWAIT)` names
    /// one without reaping it; only one that is not a function leader is reaped: a leader's
    /// exit status belongs to its supervisor, which reaps it in `release`. The lock makes the
    /// look and the reap one step: leaders are registered and reaped only under it, so the pid
    /// looked at is still the same child when it is reaped. The kernel names the same zombie
    /// until it is reaped, so a leader waiting for its supervisor ends the pass; what stands
    /// behind it goes in a later sweep.
    private func reapUnseenZombies() -> Int {
        Reaper.owned.withLock { o in
            var reaped = 0
            // Bounded: each turn reaps one child, and a host has only so many.
            for _ in 0..<4096 {
                let pid = hh_exited_child_nowait()
                guard pid > 0, o[pid] == nil else { break }
                var st: Int32 = 0
                guard waitpid(pid, &st, WNOHANG) == pid else { break }
                reaped += 1
            }
            return reaped
        }
    }

    /// Starts sweeping soon after a function ends and every second regardless.
    public func start() {
        let l = BackgroundLoop(name: "reaper", every: { 1 }) { [self] loop in
            dirty.store(false, ordering: .relaxed)
            sweep()
            // Coalesce: functions ending meanwhile only set `dirty` and poke; a stop ends the pause.
            loop.pause(Reaper.coalesce)
        }
        loop.withLock { $0 = l }
        l.start()
    }

    /// Stops the periodic sweeps, joins their thread, then sweeps a last time: nothing a
    /// function started outlives the host.
    public func stop() {
        loop.withLock { $0 }?.stop()
        sweep(final: true)
    }
}
