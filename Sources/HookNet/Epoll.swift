import CSys
import Glibc
import HookSupport

/// A thin wrapper over an epoll instance: registrations carry a 64-bit tag; no pointers leak.
package struct Epoll {
    let fd: Int32
    private var events = [epoll_event](repeating: epoll_event(), count: 256)

    /// Creates the instance; nil with errno set when it cannot.
    package init?() {
        let fd = hh_epoll_create()
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    @discardableResult package func add(_ target: Int32, _ interest: UInt32, tag: UInt64) -> Bool { hh_epoll_add(fd, target, interest, tag) == 0 }
    @discardableResult package func modify(_ target: Int32, _ interest: UInt32, tag: UInt64) -> Bool { hh_epoll_mod(fd, target, interest, tag) == 0 }
    @discardableResult package func remove(_ target: Int32) -> Bool { hh_epoll_del(fd, target) == 0 }

    /// Waits up to `timeoutMS` and returns the ready registrations; nil when epoll_wait failed
    /// (not EINTR, which reads as nothing ready).
    package mutating func wait(timeoutMS: Int32) -> [(tag: UInt64, flags: UInt32)]? {
        let n = events.withUnsafeMutableBufferPointer { epoll_wait(fd, $0.baseAddress, Int32($0.count), timeoutMS) }
        if n < 0 { return errno == EINTR ? [] : nil }
        return events.withUnsafeBufferPointer { evs in
            (0..<Int(n)).map { i in (hh_epoll_event_data(evs.baseAddress, Int32(i)), hh_epoll_event_flags(evs.baseAddress, Int32(i))) }
        }
    }

    package func close() { Glibc.close(fd) }
}

/// Interest and readiness bits, re-exported from the shim.
package enum EpollFlags {
    package static let input = HH_EPOLLIN
    package static let output = HH_EPOLLOUT
    package static let error = HH_EPOLLERR
    package static let hangUp = HH_EPOLLHUP
    package static let readHangUp = HH_EPOLLRDHUP
    /// One loop wakes per new connection instead of all of them.
    package static let exclusive = UInt32(1 << 28)
}
