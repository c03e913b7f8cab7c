import CSys
import Glibc
import Synchronization

/// Kills and reaps whatever functions leave behind. The host is a child subreaper (or PID 1), so
/// every orphan of a function — a `setsid` child, a double fork — is re-parented to it. The
/// launcher registers each function leader here; any *other* child of the host is an orphan:
/// reaped when dead, SIGKILLed (then reaped) when alive, unless its environment names a delivery
/// whose function is still running (a detached helper lives until its function ends).
public final class Reaper: Sendable {
    /// Function leaders by pid → their delivery id. Held across spawn + register so a sweep can
    /// never see a fresh leader that is not registered yet and take it for an orphan.
    private let owned = Mutex<[Int32: String]>([:])
    private let host: Int32
    private let logger: Logger

    public init(logger: Logger) {
        self.host = getpid()
        self.logger = logger
    }

    /// Makes the host the reaper of its descendants' orphans (automatic for PID 1).
    public static func becomeSubreaper() -> Bool { getpid() == 1 || hh_set_child_subreaper() == 0 }

    /// Runs `spawn` (which returns the new leader's pid) and registers the pid, under the lock.
    func spawning<E: Error>(delivery: String, _ spawn: () throws(E) -> Int32) throws(E) -> Int32 {
        try owned.withLock { (o: inout [Int32: String]) throws(E) -> Int32 in
            let pid = try spawn()
            o[pid] = delivery
            return pid
        }
    }

    /// The leader has exited and its group was killed: unregister it, reap it, then sweep what
    /// it left behind. Unregister and reap happen together under the lock, so no sweep reaps it
    /// first and its pid is not reused while still registered.
    func release(_ pid: Int32) {
        owned.withLock { o in
            o.removeValue(forKey: pid)
            var st: Int32 = 0
            while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        }
        sweep()
    }

    /// One pass over the host's children (a few more right after kills, so children of a killed
    /// orphan, re-parented to us in turn, go too). `final` spares nothing: the host is leaving.
    @discardableResult
    public func sweep(final: Bool = false) -> (reaped: Int, killed: Int) {
        var reaped = 0, killed = 0
        for _ in 0..<5 {
            let plan = owned.withLock { o -> SweepPlan in
                let running = Set(o.values)
                let plan = SweepPlan.make(processes: Reaper.children(of: host), host: host, owned: Set(o.keys), final: final) { pid in
                    guard let env = FileSystem.read("/proc/\(pid)/environ", limit: 1 << 20),
                          let id = environValue(env, "HOOKHOST_DELIVERY_ID"), running.contains(id) else { return nil }
                    return id
                }
                // Still under the lock: these are unowned children of ours, so only this code
                // reaps them and their pids cannot be reused before the kill lands.
                for pid in plan.kill { kill(pid, SIGKILL) }
                for pid in plan.reap + plan.kill {
                    var st: Int32 = 0
                    if waitpid(pid, &st, WNOHANG) == pid { reaped += 1 }
                }
                return plan
            }
            killed += plan.kill.count
            if !plan.kill.isEmpty {
                logger.debug("reaper: killed processes left by finished functions", ["pids": .string(plan.kill.map(String.init).joined(separator: ","))])
            }
            if plan.kill.isEmpty { break }
            usleep(10_000)  // let SIGKILL land and grandchildren be re-parented before looking again
        }
        return (reaped, killed)
    }

    /// Sweeps every `interval` seconds until the process exits (zombies never pile up even
    /// between function ends).
    public func startPeriodic(interval: Double = 1) {
        startThread(name: "reaper") { [self] in
            while true {
                usleep(UInt32(interval * 1_000_000))
                sweep()
            }
        }
    }

    /// Children of `parent`, from /proc (unreadable or vanished entries are skipped).
    static func children(of parent: Int32) -> [ProcStat] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var out: [ProcStat] = []
        while let e = readdir(dir) {
            let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            guard let first = name.utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9"),
                  let bytes = FileSystem.read("/proc/\(name)/stat", limit: 4096),
                  let s = ProcStat(line: String(decoding: bytes, as: UTF8.self)), s.ppid == parent else { continue }
            out.append(s)
        }
        return out
    }
}
