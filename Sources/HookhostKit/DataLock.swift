import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// An exclusive lock on the data directory: one server per spool; the CLI uses it to tell whether
/// a server is running.
public struct DataLock: Sendable {
    public let fd: Int32

    /// Why the lock was not taken.
    public enum Failure: Error, Equatable {
        /// Another process holds it.
        case held
        /// The lock file cannot be opened or created (EROFS, EACCES, …): no other process involved.
        case cannotOpen(path: String, code: Int32)
        /// flock(2) failed for another reason than a holder.
        case cannotLock(path: String, code: Int32)
    }

    /// Takes the lock or throws naming the directory and the real reason.
    public static func acquire(_ dir: String) throws(ConfigError) -> DataLock {
        switch tryAcquire(dir) {
        case .success(let l): return l
        case .failure(let f): throw ConfigError(setting: "HOOKHOST_DATA (--data)", message: message(f, dir: dir))
        }
    }

    /// The lock, or why not. Only `.held` means another hookhost.
    public static func tryAcquire(_ dir: String) -> Result<DataLock, Failure> {
        let path = dir + "/lock"
        let fd = hh_open3(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(.cannotOpen(path: path, code: errno)) }
        guard hh_flock_try(fd) == 0 else {
            let e = errno
            close(fd)
            return .failure(e == EWOULDBLOCK ? .held : .cannotLock(path: path, code: e))
        }
        return .success(DataLock(fd: fd))
    }

    /// What the operator needs to hear: a read-only or foreign-owned directory is not "in use".
    static func message(_ f: Failure, dir: String) -> String {
        switch f {
        case .held:
            return "\(dir) is in use by another hookhost process"
        case .cannotOpen(let path, let code) where code == EROFS || code == EACCES || code == EPERM:
            return "cannot write to the data directory: \(path): \(String(cString: strerror(code)))"
        case .cannotOpen(let path, let code):
            return "cannot open \(path): \(String(cString: strerror(code)))"
        case .cannotLock(let path, let code):
            return "cannot lock \(path): \(String(cString: strerror(code)))"
        }
    }
}
