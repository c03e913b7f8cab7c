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

@Suite struct ReadOnlySpoolTests {
    @Test func aReadOnlySpoolReadsWhatIsThereAndCreatesNothing() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        var config = SpoolConfig(directory: dir)
        config.readOnly = true
        #expect(throws: SpoolError.self) { try Spool(config: config, logger: quietLogger) }
        #expect(access(dir + "/spool.log", F_OK) != 0, "a read-only open created the log")

        let s = try openSpool(dir)
        #expect(admitSync(s, "m1") == .accepted)
        s.stopWriter(); s.stopTaking()
        let log = dir + "/spool.log"
        var before = stat()
        stat(log, &before)
        let r = try Spool(config: config, logger: quietLogger)
        #expect(r.list().map(\.id) == ["m1"])
        #expect(r.show("m1") != nil)
        var after = stat()
        stat(log, &after)
        #expect(after.st_size == before.st_size)
    }

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
