import CSys
import Glibc

/// The demo's host process, watched through a pidfd: the demo's pauses between looks at the host
/// (it is another process, with no "tell me when" call) end the moment it exits, instead of
/// sleeping on and reporting a dead host only when the time is up. Never reaps it: the caller's
/// own `waitpid` does.
final class DemoHostWatch {
    private let pid: pid_t
    /// -1 when the kernel has no pidfd_open: the pauses then only time out (poll ignores fd -1).
    private let pidfd: Int32

    init(pid: pid_t) {
        self.pid = pid
        pidfd = hh_pidfd_open(pid)
    }

    deinit { if pidfd >= 0 { close(pidfd) } }

    /// Whether the host has exited (it stays an unreaped zombie, so the pid is still ours).
    var exited: Bool {
        var code: Int32 = 0, sig: Int32 = 0
        return hh_exited_nowait(pid, &code, &sig) == 1
    }

    /// Waits `seconds`, or less if the host exits meanwhile; false when it has exited.
    func pause(_ seconds: Double) -> Bool {
        var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, Int32(seconds * 1000))
        return !exited
    }
}
