import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The control socket `DATA/control.sock`, reachable whatever the data directory's length.
/// A unix socket address holds at most 107 bytes of path (`sun_path`), and data directories on
/// volumes (Kubernetes, CI workspaces) are often longer. Both sides then go through a short alias
/// of the directory: `/proc/self/fd/<fd>/control.sock`, `fd` being the directory opened by the
/// process that binds or connects (each process resolves its own /proc/self).
public enum ControlSocketPath {
    public static let name = "control.sock"

    /// The longest path a `sockaddr_un` holds, without its terminating NUL.
    public static let maxSocketPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// The full path (for chmod, unlink and messages, which have no such limit).
    public static func full(_ dataDir: String) -> String { dataDir + "/" + name }

    /// Calls `body` with a path to the socket short enough for bind/connect: the full path when it
    /// fits, else the /proc/self/fd alias, valid until `body` returns. Throws `SystemError` when
    /// the directory cannot be opened for the alias, else what `body` throws.
    public static func withShortPath<R>(_ dataDir: String, _ body: (String) throws -> R) throws -> R {
        let path = full(dataDir)
        if path.utf8.count <= maxSocketPathBytes { return try body(path) }
        // O_PATH: only a handle for path lookup; needs no read permission on the directory.
        let fd = hh_open_dir_path(dataDir)
        guard fd >= 0 else { throw SystemError("open", dataDir) }
        defer { close(fd) }
        return try body("/proc/self/fd/\(fd)/" + name)
    }
}
