import CSys
import Glibc
import HookSupport

/// A listen address: `host:port`, `[v6]:port`, or `unix:/path`.
public enum SocketAddress: Sendable, Equatable, CustomStringConvertible {
    case inet(host: String, port: UInt16)
    case inet6(host: String, port: UInt16)
    case unix(path: String)

    /// Parses `0.0.0.0:8080`, `127.0.0.1:0`, `[::1]:8080`, `:8080` (all IPv4 interfaces), `unix:/p`.
    public init?(parsing text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty, path.utf8.count < 100 else { return nil }
            self = .unix(path: path)
            return
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            var a = in6_addr()
            guard inet_pton(AF_INET6, host, &a) == 1 else { return nil }
            self = .inet6(host: host, port: port)
            return
        }
        if host.isEmpty { host = "0.0.0.0" }
        if host == "localhost" { host = "127.0.0.1" }
        var a = in_addr()
        guard inet_pton(AF_INET, host, &a) == 1 else { return nil }
        self = .inet(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .inet(let h, let p): return "\(h):\(p)"
        case .inet6(let h, let p): return "[\(h)]:\(p)"
        case .unix(let p): return "unix:\(p)"
        }
    }

    /// The address as listened on: port 0 ("any") replaced by the port the kernel chose.
    public func description(boundPort: UInt16) -> String {
        switch self {
        case .inet(let h, _): return "\(h):\(boundPort)"
        case .inet6(let h, _): return "[\(h)]:\(boundPort)"
        case .unix: return description
        }
    }
}

/// Creating listening sockets. The descriptors are non-blocking and close-on-exec.
public enum Listener {
    /// Binds and listens; returns the descriptor and the actual port (for port 0).
    public static func open(_ address: SocketAddress, backlog: Int32 = 1024) throws(SocketError) -> (fd: Int32, port: UInt16) {
        switch address {
        case .inet(let host, let port):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &sa.sin_addr)
            let fd = try bindAndListen(AF_INET, &sa, address, backlog)
            return (fd, boundPort(fd))
        case .inet6(let host, let port):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &sa.sin6_addr)
            let fd = try bindAndListen(AF_INET6, &sa, address, backlog)
            return (fd, boundPort(fd))
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(hh_sock_stream_cloexec()), 0)
            guard fd >= 0 else { throw SocketError("socket", address: address.description) }
            unlink(path)  // a stale socket file from a crashed run would block bind
            var sa = sockaddr_un()
            sa.sun_family = sa_family_t(AF_UNIX)
            // A longer path would be cut and bind another file: refuse it (callers shorten it first).
            guard path.utf8.count < MemoryLayout.size(ofValue: sa.sun_path) else {
                close(fd)
                throw SocketError("bind", address: address.description, code: ENAMETOOLONG)
            }
            withUnsafeMutableBytes(of: &sa.sun_path) { buf in
                let bytes = Array(path.utf8)
                for (i, b) in bytes.enumerated() where i < buf.count - 1 { buf[i] = b }
            }
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            try finish(fd, rc, address, backlog)
            return (fd, 0)
        }
    }

    /// A TCP socket bound to `sa` (a sockaddr_in or sockaddr_in6) and listening.
    private static func bindAndListen<A>(_ family: Int32, _ sa: inout A, _ address: SocketAddress, _ backlog: Int32) throws(SocketError) -> Int32 {
        let fd = socket(family, Int32(hh_sock_stream_cloexec()), 0)
        guard fd >= 0 else { throw SocketError("socket", address: address.description) }
        setReuseAddr(fd)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<A>.size)) } }
        try finish(fd, rc, address, backlog)
        return fd
    }

    private static func setReuseAddr(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func finish(_ fd: Int32, _ bindResult: Int32, _ address: SocketAddress, _ backlog: Int32) throws(SocketError) {
        guard bindResult == 0 else {
            let e = errno
            close(fd)
            throw SocketError("bind", address: address.description, code: e)
        }
        guard listen(fd, backlog) == 0 else {
            let e = errno
            close(fd)
            throw SocketError("listen", address: address.description, code: e)
        }
    }

    private static func boundPort(_ fd: Int32) -> UInt16 {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        if Int32(ss.ss_family) == AF_INET6 {
            return withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
        }
        return withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
    }
}
