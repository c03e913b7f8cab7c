import Glibc
import HookSupport

/// A failed socket call (bind, listen, …) with the address involved.
public typealias SocketError = SystemError

extension SystemError {
    init(_ operation: String, address: String, code: Int32 = errno) { self.init(operation, address, code: code) }
}
