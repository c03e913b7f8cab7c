import Glibc
import HookSupport

/// A plain TCP connection: the socket's own read/write.
final class TCPTransport: Transport {
    let fd: Int32
    private var open = true

    init(fd: Int32) { self.fd = fd }

    func read(into buffer: inout [UInt8]) -> TransportResult {
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { return .done(n) }
            if n == 0 { return .endOfInput }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .wouldBlock }
            return .failed(reason: String(cString: strerror(errno)))
        }
    }

    func write(_ bytes: [UInt8], from offset: Int) -> TransportResult {
        while true {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n >= 0 { return .done(n) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .wouldBlock }
            return .failed(reason: String(cString: strerror(errno)))
        }
    }

    var wantsWritable: Bool { false }
    var hasBufferedInput: Bool { false }
    var shortReadDrains: Bool { true }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    func close() {
        guard open else { return }
        open = false
        Glibc.close(fd)
    }
}

/// Plain TCP for every connection.
package struct TCPTransportFactory: TransportFactory {
    package init() {}
    package func make(fd: Int32) -> (any Transport)? { TCPTransport(fd: fd) }
}
