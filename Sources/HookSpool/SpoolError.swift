import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// A spool I/O failure with the file involved.
public typealias SpoolError = SystemError

extension SystemError {
    init(_ operation: String, path: String, code: Int32 = errno) { self.init(operation, path, code: code) }

}
