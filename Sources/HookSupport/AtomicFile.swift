import CSys
import Glibc

/// Replaces a small file all at once, durably: the new bytes go to a temporary name in the same
/// directory, are fsync'd, renamed over the old name, and the directory is fsync'd. Every step goes
/// through one descriptor of the directory, so a directory renamed or replaced meanwhile cannot
/// send the temporary file and the rename to different places. After a crash or power cut the
/// file holds the old bytes or the new ones, never a mix or nothing.
public enum AtomicFile {
    /// Writes `bytes` as `directory/name` (mode `mode`). On failure the old file is untouched and
    /// the temporary one removed.
    public static func replace(directory: String, name: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(SystemError) {
        let dir: FD
        do { dir = try FD(opening: directory, O_RDONLY | O_DIRECTORY) } catch { throw SystemError("open", directory, code: error.code) }
        try replace(in: dir.raw, directory: directory, name: name, with: bytes, mode: mode)
    }

    /// The same through a directory the caller holds open (`directory` only names it in errors).
    /// The temporary file is created `O_EXCL|O_NOFOLLOW` and set to exactly `mode` with fchmod (a
    /// umask only takes bits away). Callers serialise their writers of one name (a lock, a queue):
    /// a temporary file already there is a leftover of a writer killed mid-way — removed, never
    /// written through (it may be a symlink). `probeOnly`: everything but the rename — proves the
    /// directory takes a new copy of this size now.
    public static func replace(in dirFD: Int32, directory: String, name: String, with bytes: [UInt8], mode: mode_t = 0o600,
                               probeOnly: Bool = false) throws(SystemError) {
        let path = directory + "/" + name
        let temp = ".\(name).tmp"
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW
        var file = FD(hh_openat3(dirFD, temp, flags, Int32(mode)))
        if !file.isOpen && errno == EEXIST {
            unlinkat(dirFD, temp, 0)
            file = FD(hh_openat3(dirFD, temp, flags, Int32(mode)))
        }
        guard file.isOpen else { throw SystemError("create", directory + "/" + temp) }
        do throws(SystemError) {
            guard fchmod(file.raw, mode) == 0 else { throw SystemError("fchmod", directory + "/" + temp) }
            do { try file.writeAll(bytes) } catch { throw SystemError("write", directory + "/" + temp, code: error.code) }
            guard fsync(file.raw) == 0 else { throw SystemError("fsync", directory + "/" + temp) }
            do { try file.closeReportingErrors() } catch { throw SystemError("close", directory + "/" + temp, code: error.code) }
            if probeOnly { unlinkat(dirFD, temp, 0); return }
            guard renameat(dirFD, temp, dirFD, name) == 0 else { throw SystemError("rename", path) }
        } catch {
            unlinkat(dirFD, temp, 0)
            throw error
        }
        // The rename is in place; only its durability is in question now.
        guard fsync(dirFD) == 0 else { throw SystemError("fsync", directory) }
    }
}
