import Synchronization
import HookSupport

/// The listener's certificate and key (`HOOKHOST_TLS_CERT`/`HOOKHOST_TLS_KEY`): loaded at start,
/// re-read by `reload()` (SIGHUP). New connections use the newest good pair; open ones keep theirs.
public final class TLSCertificates: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let current: Mutex<TLSContext>

    /// Loads both files now; throws naming what is wrong (the host exits 2).
    public init(certificate: String, key: String) throws(TLSError) {
        certificatePath = certificate
        keyPath = key
        current = Mutex(try TLSContext(certificate: certificate, key: key))
    }

    /// Re-reads the files; on failure the previous pair stays in use and the error is thrown.
    public func reload() throws(TLSError) {
        let fresh = try TLSContext(certificate: certificatePath, key: keyPath)
        current.withLock { $0 = fresh }
    }
}

extension TLSCertificates: TransportFactory {
    package func make(fd: Int32) -> (any Transport)? {
        TLSTransport(fd: fd, context: current.withLock { $0 })
    }
}
