import Glibc
import HookSupport

/// The remote end of an accepted socket, as logs show it: `203.0.113.7:51234`, `[2001:db8::1]:443`,
/// `unix` for a unix socket (the control socket's clients have no address). A thin wrapper over
/// `getpeername`; the formatting of the raw address is separate and pure.
package enum PeerAddress {
    /// The peer of `fd`, or nil when the kernel cannot say (the client is already gone).
    package static func of(_ fd: Int32) -> String? {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) } }
        guard rc == 0 else { return nil }
        return describe(ss)
    }

    /// `host:port` of an IPv4 or IPv6 address (IPv6 in brackets), `unix` for AF_UNIX, nil otherwise.
    package static func describe(_ ss: sockaddr_storage) -> String? {
        var ss = ss
        switch Int32(ss.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &ss) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin_addr) { text(AF_INET, $0, INET_ADDRSTRLEN) }.map { "\($0):\(UInt16(bigEndian: p.pointee.sin_port))" }
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &ss) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin6_addr) { text(AF_INET6, $0, INET6_ADDRSTRLEN) }.map { "[\($0)]:\(UInt16(bigEndian: p.pointee.sin6_port))" }
                }
            }
        case AF_UNIX:
            return "unix"
        default:
            return nil
        }
    }

    private static func text(_ family: Int32, _ addr: UnsafeRawBufferPointer, _ size: Int32) -> String? {
        var buf = [CChar](repeating: 0, count: Int(size) + 1)
        return buf.withUnsafeMutableBufferPointer { b in
            inet_ntop(family, addr.baseAddress, b.baseAddress, socklen_t(size)) != nil ? String(cString: b.baseAddress!) : nil
        }
    }
}
