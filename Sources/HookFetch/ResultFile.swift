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
    private var file: FD
    private var committed = false

    /// Creates the directory if needed and a fresh, empty temp file for `name`.
    init(directory: String, name: String) throws(FetchError) {
        guard FileSystem.makeDirectories(directory) else {
            throw .io("cannot create result directory \(directory)", errno: errno)
        }
        self.directory = directory
        tempPath = directory + "/." + name + ".part"
        // Never through a link: a name planted in the directory must not redirect the write.
        do { file = try FD(opening: tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o644) } catch {
            throw .io("cannot create \(tempPath)", errno: error.code)
        }
    }

    deinit {
        if !committed { unlink(tempPath) }
    }

    /// Appends all of `bytes` (write(2) may take fewer at a time).
    func write(_ bytes: UnsafeRawBufferPointer) throws(FetchError) {
        do { try file.writeAll(bytes) } catch { throw .io("cannot write \(tempPath)", errno: error.code) }
    }

    /// Appends all of `bytes`.
    func write(_ bytes: [UInt8]) throws(FetchError) {
        do { try file.writeAll(bytes) } catch { throw .io("cannot write \(tempPath)", errno: error.code) }
    }

    /// Empties the file (a resume answered with the whole body again).
    func truncate() throws(FetchError) {
        guard ftruncate(file.raw, 0) == 0, lseek(file.raw, 0, SEEK_SET) == 0 else {
            throw .local("cannot truncate \(tempPath): \(String(cString: strerror(errno)))")
        }
    }

    /// What this file's filesystem has free for an unprivileged writer, and holds in all.
    func space() -> (available: Int, total: Int) {
        var st = statvfs()
        guard fstatvfs(file.raw, &st) == 0 else { return (Int.max, Int.max) }  // unknown: let write(2) be the judge
        let (total, overflow) = Int(st.f_blocks).multipliedReportingOverflow(by: Int(st.f_frsize))
        return (Int(st.f_bavail) * Int(st.f_frsize), overflow ? Int.max : total)
    }

    /// Closes the file and renames it to `name` in the same directory; returns the final path.
    func commit(as name: String) throws(FetchError) -> String {
        let path = directory + "/" + name
        do { try file.closeReportingErrors() } catch { throw .io("cannot close \(tempPath)", errno: error.code) }
        guard rename(tempPath, path) == 0 else { throw .local("cannot rename \(tempPath) to \(path): \(String(cString: strerror(errno)))") }
        committed = true
        return path
    }
}
