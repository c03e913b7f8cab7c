import Testing
@testable import HookhostKit
@testable import HookDispatch
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch

@Suite struct HostTests {
    /// `HOOKHOST_FUNCTION_USER=root` (or `0:0`, the host's own uid, gid 0) was accepted: the
    /// functions ran with every right of the host while the docs promised they could not read it.
    @Test func aFunctionUserThatIsolatesNothingIsRefused() {
        let host: (UInt32, UInt32) = (1000, 1000)
        for (uid, gid, needle) in [(0, 0, "root"), (0, 65534, "root"), (1000, 2000, "own uid"), (65534, 0, "gid 0"), (65534, 1000, "own gid")] as [(UInt32, UInt32, String)] {
            let p = Host.functionUserProblem(FunctionUser(uid: uid, gid: gid, spelling: "\(uid):\(gid)"), hostUID: host.0, hostGID: host.1)
            #expect(p?.contains(needle) == true, "\(uid):\(gid) → \(p ?? "accepted")")
        }
        #expect(Host.functionUserProblem(FunctionUser(uid: 65534, gid: 65534, spelling: "nobody"), hostUID: 0, hostGID: 0) == nil)
    }
}
