import Glibc
import HookSupport

/// A plain TCP connection: the socket's own read/write.
final class TCPTransport: Transport {
    let fd: Int32
    private var open = true

    init(fd: Int32) { self.fd = fd }

    func read(into buffer: inout [UInt8]) -> TransportResult {
        let count = buffer.count
        let n = retryingEINTR { Glibc.read(fd, &buffer, count) }
        if n > 0 { return .done(n) }
        if n == 0 { return .endOfInput }
        return TCPTransport.failure(Errno())
    }

    func write(_ bytes: [UInt8], from offset: Int) -> TransportResult {
        let n = retryingEINTR { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) } }
        if n >= 0 { return .done(n) }
        return TCPTransport.failure(Errno())
    }

    private static func failure(_ e: Errno) -> TransportResult { e.wouldBlock ? .wouldBlock : .failed(reason: e.description) }

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
