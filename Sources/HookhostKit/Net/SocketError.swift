import Glibc

/// A failed socket call: the operation, the address involved and errno's text.
public struct SocketError: Error, CustomStringConvertible {
    public let operation: String
    public let address: String
    public let code: Int32
    public init(_ operation: String, address: String, code: Int32 = errno) {
        self.operation = operation
        self.address = address
        self.code = code
    }
    public var description: String { "\(operation) \(address): \(String(cString: strerror(code)))" }
}
