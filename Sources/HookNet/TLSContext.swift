import COpenSSL
import HookSupport

/// Why a certificate and key could not be loaded.
public struct TLSError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// One loaded certificate + key (an OpenSSL SSL_CTX with modern defaults, see `hh_tls_server_ctx`).
final class TLSContext: @unchecked Sendable {  // safe: immutable after init; OpenSSL locks an SSL_CTX internally for SSL_new from many threads
    let ctx: OpaquePointer

    /// Loads and checks the PEM files; throws naming the step that failed.
    init(certificate: String, key: String) throws(TLSError) {
        var err = [CChar](repeating: 0, count: 512)
        guard let ctx = hh_tls_server_ctx(certificate, key, &err, err.count) else {
            throw TLSError(message: String(decoding: err.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.ctx = ctx
    }

    deinit { SSL_CTX_free(ctx) }
}
