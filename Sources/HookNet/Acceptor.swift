import CSys
import Glibc
import HookSupport

/// Accepts from a listening socket, surviving descriptor exhaustion: a spare descriptor is held
/// so that, out of descriptors (EMFILE), a pending connection can still be accepted and closed
/// instead of spinning on a listener that stays readable.
package struct Acceptor {
    package init() {}
    private var spareFD: Int32 = open("/dev/null", O_RDONLY | O_CLOEXEC)

    /// What one accept gave.
    package enum Outcome {
        case accepted(Int32)
        /// Nothing (more) pending.
        case drained
        /// Out of descriptors: one pending connection was accepted and closed (`more`: try again).
        case exhausted(more: Bool)
        /// Another error; logged by the caller.
        case failed(Int32)
    }

    package mutating func accept(_ listener: Int32) -> Outcome {
        let fd = retryingEINTR { hh_accept4(listener) }
        if fd >= 0 {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return .accepted(fd)
        }
        let e = errno
        if (e == EMFILE || e == ENFILE) && spareFD >= 0 {
            close(spareFD)
            let victim = hh_accept4(listener)
            if victim >= 0 { close(victim) }
            spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
            return .exhausted(more: victim >= 0)
        }
        if e == EAGAIN || e == EWOULDBLOCK || e == ECONNABORTED { return .drained }
        return .failed(e)
    }
}
