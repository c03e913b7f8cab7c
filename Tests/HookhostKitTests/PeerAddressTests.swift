import Glibc
import Testing
@testable import HookNet
@testable import HookSupport
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct PeerAddressTests {
    @Test func ipv4IsAddressColonPort() {
        var ss = sockaddr_storage()
        withUnsafeMutablePointer(to: &ss) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                p.pointee.sin_family = sa_family_t(AF_INET)
                p.pointee.sin_port = UInt16(51234).bigEndian
                inet_pton(AF_INET, "203.0.113.7", &p.pointee.sin_addr)
            }
        }
        #expect(PeerAddress.describe(ss) == "203.0.113.7:51234")
    }

    @Test func ipv6IsBracketed() {
        var ss = sockaddr_storage()
        withUnsafeMutablePointer(to: &ss) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                p.pointee.sin6_family = sa_family_t(AF_INET6)
                p.pointee.sin6_port = UInt16(443).bigEndian
                inet_pton(AF_INET6, "2001:db8::1", &p.pointee.sin6_addr)
            }
        }
        #expect(PeerAddress.describe(ss) == "[2001:db8::1]:443")
    }

    @Test func unixAndUnknownFamilies() {
        var ss = sockaddr_storage()
        ss.ss_family = sa_family_t(AF_UNIX)
        #expect(PeerAddress.describe(ss) == "unix")
        ss.ss_family = sa_family_t(AF_PACKET)
        #expect(PeerAddress.describe(ss) == nil)
    }

    @Test func aConnectedSocketsPeerIsTheOtherEnd() throws {
        let (listener, port) = try Listener.open(.inet(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
        var server: Int32 = -1
        for _ in 0..<200 where server < 0 { server = accept(listener, nil, nil); if server < 0 { usleep(5_000) } }
        defer { close(server) }
        // The client's own address, as the server sees it.
        var mine = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &mine) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client, $0, &len) } }
        #expect(PeerAddress.of(server) == PeerAddress.describe(mine))
        #expect(PeerAddress.of(server)?.hasPrefix("127.0.0.1:") == true)
        #expect(PeerAddress.of(-1) == nil)
    }
}
