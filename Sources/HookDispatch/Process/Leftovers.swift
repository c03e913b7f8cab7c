import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Functions a previous life of this host left running. A `kill -9` of the host (or a crash)
/// leaves its functions running, re-parented elsewhere; the spool then runs their deliveries
/// again with attempt + 1, and two copies of one delivery would run at once. Every function of
/// this host has `HOOKHOST_WORK_DIR` under this data directory's work root, so at start, before
/// any function of ours runs, whatever carries that is a leftover.
package enum Leftovers {
    /// Whether an environment image belongs to a function run under `workRoot`.
    static func belongs(environ: [UInt8], workRoot: String) -> Bool {
        guard let dir = environValue(environ, "HOOKHOST_WORK_DIR") else { return false }
        return dir.hasPrefix(workRoot + "/")
    }

    /// SIGKILLs every process that carries a work dir under `workRoot` (not this process), waits
    /// (bounded) until they have exited, and returns their pids.
    package static func kill(workRoot: String, wait: Double = 3) -> [Int32] {
        let me = getpid()
        // /proc may number processes for an outer pid namespace; kill takes ours, and a process
        // outside our namespace is not ours to kill.
        let view = ProcNamespace.current()
        var killed: [(pid: Int32, pidfd: Int32)] = []
        for name in (try? DirectoryEntries.names("/proc")) ?? [] {
            guard let procPid = Int32(name), procPid != view.selfPid,
                  let environ = try? SmallFile.read("/proc/\(name)/environ", limit: 8 << 20),
                  belongs(environ: environ, workRoot: workRoot),
                  let pid = view.localPid(procPid: procPid), pid != me, pid > 1 else { continue }
            // The pidfd first: it names this process even if the pid is reused, and becomes
            // readable when the process exits — something to wait on instead of polling /proc.
            let pidfd = hh_pidfd_open(pid)
            if Glibc.kill(pid, SIGKILL) == 0 { killed.append((pid, pidfd)) } else if pidfd >= 0 { close(pidfd) }
        }
        let deadline = monotonicNow() + wait
        for (pid, pidfd) in killed where pidfd >= 0 {
            var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            while monotonicNow() < deadline {
                let ms = Int32(max(1, (deadline - monotonicNow()) * 1000))
                if poll(&p, 1, ms) != 0 { break }  // exited (or an error: nothing more to wait for)
            }
            close(pidfd)
            // A child of ours (PID 1 in a container restarted in place) is reaped here.
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
        return killed.map(\.pid)
    }
}
