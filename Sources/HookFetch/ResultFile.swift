import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// The file a download streams into: a dot-named temp file in the target directory, renamed to
/// its final name only when the download is complete; removed if it never is.
final class ResultFile {
    let directory: String
    let tempPath: String
    private var fd: Int32
    private var committed = false

    /// Creates the directory if needed and a fresh, empty temp file for `name`.
    init(directory: String, name: String) throws(FetchError) {
        guard FileSystem.makeDirectories(directory) else {
            throw .io("cannot create result directory \(directory)", errno: errno)
        }
        self.directory = directory
        tempPath = directory + "/." + name + ".part"
        // Never through a link: a name planted in the directory must not redirect the write.
        fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("cannot create \(tempPath)", errno: errno) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(tempPath) }
    }

    /// Appends all of `bytes` (write(2) may take fewer at a time).
    func write(_ bytes: UnsafeRawBufferPointer) throws(FetchError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io("cannot write \(tempPath)", errno: n < 0 ? errno : ENOSPC) }
            done += n
        }
    }

    /// Empties the file (a resume answered with the whole body again).
    func truncate() throws(FetchError) {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw .local("cannot truncate \(tempPath): \(String(cString: strerror(errno)))")
        }
    }

    /// What this file's filesystem has free for an unprivileged writer, and holds in all.
    func space() -> (available: Int, total: Int) {
        var st = statvfs()
        guard fstatvfs(fd, &st) == 0 else { return (Int.max, Int.max) }  // unknown: let write(2) be the judge
        let (total, overflow) = Int(st.f_blocks).multipliedReportingOverflow(by: Int(st.f_frsize))
        return (Int(st.f_bavail) * Int(st.f_frsize), overflow ? Int.max : total)
    }

    /// Closes the file and renames it to `name` in the same directory; returns the final path.
    func commit(as name: String) throws(FetchError) -> String {
        let path = directory + "/" + name
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw .io("cannot close \(tempPath)", errno: errno) }
        guard rename(tempPath, path) == 0 else { throw .local("cannot rename \(tempPath) to \(path): \(String(cString: strerror(errno)))") }
        committed = true
        return path
    }
}
