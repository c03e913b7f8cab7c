import Glibc

/// Descriptors 0, 1 and 2 as the process starts. Started with one of them closed (`2>&-`, a
/// supervisor that closes what it does not use), the next file opened would take its number:
/// the data lock or the spool log would become stderr, and every log line would be written into
/// it.
public enum StandardDescriptors {
    /// Puts `/dev/null` on each of 0, 1 and 2 that is closed, before anything else is opened;
    /// returns the numbers it filled.
    @discardableResult
    public static func fillClosed() -> [Int32] {
        var filled: [Int32] = []
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            // open(2) takes the lowest free number: this one, since those below are open by now.
            var n = open("/dev/null", O_RDWR)
            // No /dev/null (a bare chroot): the root directory holds the number just as well —
            // writes to it fail, and nothing lands in a file.
            if n < 0 { n = open("/", O_RDONLY | O_DIRECTORY) }
            if n >= 0 && n != fd {
                _ = dup2(n, fd)
                close(n)
            }
            if fcntl(fd, F_GETFD) >= 0 { filled.append(fd) }
        }
        return filled
    }
}
