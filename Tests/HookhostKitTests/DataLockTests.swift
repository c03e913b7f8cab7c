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

@Suite struct DataLockTests {
    @Test func theLockNamesTheRealReason() {
        #expect(DataLock.message(.held, dir: "/d").contains("in use by another hookhost"))
        let ro = DataLock.message(.cannotOpen(path: "/d/lock", code: EROFS), dir: "/d")
        #expect(ro.contains("cannot write to the data directory") && !ro.contains("in use"))
        let missing = DataLock.tryAcquire("/nonexistent-hookhost-dir")
        #expect(missing.failure == .cannotOpen(path: "/nonexistent-hookhost-dir/lock", code: ENOENT))
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { return f }; return nil }
}
