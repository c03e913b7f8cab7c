import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct LeftoversTests {
    @Test func aFunctionBelongsByItsWorkDir() {
        let env = Array("PATH=/bin\0HOOKHOST_WORK_DIR=/data/work/abc.1\0HOOKHOST_ATTEMPT=1\0".utf8)
        #expect(Leftovers.belongs(environ: env, workRoot: "/data/work"))
        #expect(!Leftovers.belongs(environ: env, workRoot: "/data/wor"))
        #expect(!Leftovers.belongs(environ: env, workRoot: "/other/work"))
        #expect(!Leftovers.belongs(environ: Array("PATH=/bin\0".utf8), workRoot: "/data/work"))
    }
}
