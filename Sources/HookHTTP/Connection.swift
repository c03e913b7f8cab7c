import HookSupport
import HookNet
/// A connection as the reactor holds it: the transport, the HTTP machine and the bytes still to
/// be written. Owned by one reactor.
final class Connection {
    let id: UInt64
    let transport: any Transport
    var http: HTTPConnection
    var out: [UInt8] = []
    var outOffset = 0
    var interest: UInt32 = EpollFlags.input | EpollFlags.readHangUp
    /// Cleared when the reactor closes it; pending answers for it are then dropped.
    var isOpen = true
    /// The remote address, asked of the kernel once, when the first request is dispatched (a
    /// connection that never completes a request costs no extra system call).
    lazy var peer: String? = PeerAddress.of(transport.fd)

    init(id: UInt64, transport: any Transport, http: HTTPConnection) {
        self.id = id
        self.transport = transport
        self.http = http
    }
}
