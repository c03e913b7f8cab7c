import Glibc

/// Whether a `hookhost serve` holds a data directory, found through its lock file the way the
/// server takes it (`flock` LOCK_EX), so the CLI knows to use the control socket instead.
enum ServerProbe {
    enum State {
        /// No server: the caller holds the lock (`fd`, or -1 when there is no lock file) until it closes it.
        case stopped(lockFD: Int32)
        case running
        /// The lock file exists but cannot be opened: saying "a server holds it" would be a guess.
        case unusable(String)
    }

    /// `create`: make the lock file when missing (for actions, which must exclude a server that
    /// starts meanwhile). Without it a missing lock file means no server has ever run here, and
    /// nothing is created.
    static func check(_ data: String, create: Bool) -> State {
        let path = data + "/lock"
        let fd = create ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT && !create { return .stopped(lockFD: -1) }
            return .unusable("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            close(fd)
            return e == EWOULDBLOCK ? .running : .unusable("cannot lock \(path): \(String(cString: strerror(e)))")
        }
        return .stopped(lockFD: fd)
    }
}
