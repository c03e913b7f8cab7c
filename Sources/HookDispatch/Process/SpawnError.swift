import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The program could not be started (posix_spawn, fork or exec failed); `code` is the errno.
public struct SpawnError: Error, Equatable, CustomStringConvertible {
    public let executable: String
    public let code: Int32
    public init(executable: String, code: Int32) { self.executable = executable; self.code = code }
    public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    /// Out of descriptors, processes or memory: the host's trouble, not the function's.
    public var isResourceShortage: Bool { [EMFILE, ENFILE, EAGAIN, ENOMEM].contains(code) }
}
