import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Process-wide set-up: descriptor limit, the functions' environment and directory access.
extension Host {
    /// The function user reaches its scratch dir (DATA/work/<run>, owned by it) by path: it needs
    /// search (x) permission on the parents, never read — the spool and lock files stay 0600.
    /// By descriptor, never following a link: a directory swapped for a symlink between a look
    /// and the change is refused, not the link's target opened up.
    static func letOthersTraverse(_ dirs: [String]) {
        for d in dirs {
            let dir = FD(open(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
            var st = stat()
            guard dir.isOpen, fstat(dir.raw, &st) == 0 else { continue }
            fchmod(dir.raw, (st.st_mode & 0o7777) | S_IXOTH)
        }
    }

    /// Many keep-alive clients need more than the usual soft limit of 1024 descriptors.
    static func raiseFileLimit() {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0, rl.rlim_cur < rl.rlim_max else { return }
        rl.rlim_cur = min(rl.rlim_max, 1 << 20)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl)
    }

    /// PATH, HOME and LANG from the host (with defaults); nothing else is inherited.
    package static func functionBaseEnvironment() -> [String] {
        ["PATH=" + (FileSystem.env("PATH") ?? "/usr/local/bin:/usr/bin:/bin"),
         "HOME=" + (FileSystem.env("HOME") ?? "/"),
         "LANG=" + (FileSystem.env("LANG") ?? "C.UTF-8")]
    }
}
