import Glibc

/// A failed system call: what was attempted, on what (a path or an address), and errno.
public struct SystemError: Error, CustomStringConvertible {
    public let operation: String
    /// The file path or socket address involved.
    public let subject: String
    public let code: Int32

    public init(_ operation: String, _ subject: String, code: Int32 = errno) {
        self.operation = operation
        self.subject = subject
        self.code = code
    }

    public var description: String { "\(operation) \(subject): \(String(cString: strerror(code)))" }
}
