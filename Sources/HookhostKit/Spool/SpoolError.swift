import Glibc

/// A spool I/O failure: the operation, the file, and errno's text.
public struct SpoolError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32
    public init(_ operation: String, path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
    /// Space or permission problems that clear up by themselves or by an operator, not bugs.
    public var isDiskFault: Bool { [ENOSPC, EROFS, EIO, EDQUOT, EACCES, EPERM].contains(code) }
}
