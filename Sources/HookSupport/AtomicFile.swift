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
        let temp = ".\(name).tmp"
        let path = directory + "/" + name
        do throws(SystemError) {
            var file = FD(hh_openat3(dir.raw, temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, Int32(mode)))
            guard file.isOpen else { throw SystemError("create", directory + "/" + temp) }
            do { try file.writeAll(bytes) } catch { throw SystemError("write", directory + "/" + temp, code: error.code) }
            guard fsync(file.raw) == 0 else { throw SystemError("fsync", directory + "/" + temp) }
            do { try file.closeReportingErrors() } catch { throw SystemError("close", directory + "/" + temp, code: error.code) }
            guard renameat(dir.raw, temp, dir.raw, name) == 0 else { throw SystemError("rename", path) }
        } catch {
            unlinkat(dir.raw, temp, 0)
            throw error
        }
        // The rename is in place; only its durability is in question now.
        guard fsync(dir.raw) == 0 else { throw SystemError("fsync", directory) }
    }
}
