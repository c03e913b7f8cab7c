import COpenSSL
import Glibc
import HookSupport

/// TLS over a non-blocking socket. The handshake is not a separate step: it runs inside the
/// first reads (and writes) and simply reports `.wouldBlock` until the client has done its part,
/// so a client stalling mid-handshake holds only its own connection, bounded by the read timeout.
final class TLSTransport: Transport {
    let fd: Int32
    private var ssl: OpaquePointer?
    private(set) var wantsWritable = false
    /// Keeps the context alive as long as the connection (SSL also holds a reference; this makes
    /// the ownership visible).
    private let context: TLSContext

    /// Nil when OpenSSL cannot make the connection object (out of memory).
    init?(fd: Int32, context: TLSContext) {
        guard let ssl = hh_tls_new(context.ctx, fd) else { return nil }
        self.fd = fd
        self.ssl = ssl
        self.context = context
    }

    func read(into buffer: inout [UInt8]) -> TransportResult {
        guard let ssl else { return .failed(reason: "closed") }
        let n = buffer.withUnsafeMutableBytes { hh_tls_read(ssl, $0.baseAddress, Int32(min($0.count, Int(Int32.max)))) }
        return outcome(n)
    }

    func write(_ bytes: [UInt8], from offset: Int) -> TransportResult {
        guard let ssl else { return .failed(reason: "closed") }
        let n = bytes.withUnsafeBytes { hh_tls_write(ssl, $0.baseAddress! + offset, Int32(min($0.count - offset, Int(Int32.max)))) }
        return outcome(n)
    }

    private func outcome(_ n: Int32) -> TransportResult {
        wantsWritable = Int(n) == Int(HH_TLS_WANT_WRITE)
        if n > 0 { return .done(Int(n)) }
        switch Int(n) {
        case Int(HH_TLS_WANT_READ), Int(HH_TLS_WANT_WRITE): return .wouldBlock
        case Int(HH_TLS_EOF): return .endOfInput
        default: return .failed(reason: "TLS error")
        }
    }

    var shortReadDrains: Bool { false }
    var hasBufferedInput: Bool { ssl.map { SSL_has_pending($0) == 1 } ?? false }

    func shutdownWrite() {
        if let ssl { hh_tls_shutdown(ssl) }
        Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    func close() {
        guard let s = ssl else { return }
        SSL_free(s)
        ssl = nil
        Glibc.close(fd)
    }
}
