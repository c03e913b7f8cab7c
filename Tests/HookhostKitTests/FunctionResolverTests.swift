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

/// The workers' cached function look-up: remembered answers, and every kind of change still
/// taking effect at once. No timing: the settle window is 0 and the directory's mtime is set
/// into the past, so a remembered answer and a later change can never carry the same stamp.
@Suite struct FunctionResolverTests {
    /// Sets the directory's mtime an hour back (its entries then change it to now).
    func age(_ dir: String) {
        var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, dir, &times, 0)
    }

    func resolver(_ dir: String) -> FunctionResolver { FunctionResolver(table: FunctionTable(directory: dir), settle: 0) }

    @Test func aNegativeAnswerIsRememberedAndANewHandlerIsPickedUp() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        age(dir)
        let r = resolver(dir)
        #expect(r.resolve("batch.succeeded").function == nil)
        #expect(r.resolve("batch.succeeded").function == nil)
        #expect(r.hits.load(ordering: .relaxed) == 1)
        writeFile(dir + "/batch", "#!/bin/sh\n", mode: 0o755)
        #expect(r.resolve("batch.succeeded").function?.name == "batch")
    }

    @Test func aRemovedOrRenamedHandlerIsNoLongerUsed() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/batch.succeeded", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/_default", "#!/bin/sh\n", mode: 0o755)
        age(dir)
        let r = resolver(dir)
        #expect(r.resolve("batch.succeeded").function?.name == "batch.succeeded")
        #expect(r.resolve("batch.succeeded").function?.name == "batch.succeeded")
        #expect(r.hits.load(ordering: .relaxed) == 1)
        unlink(dir + "/batch.succeeded")
        #expect(r.resolve("batch.succeeded").function?.name == "_default")
        age(dir)
        #expect(r.resolve("batch.succeeded").function?.name == "_default")
        rename(dir + "/_default", dir + "/other")
        #expect(r.resolve("batch.succeeded").function == nil)
    }

    @Test func aNewSidecarIsPickedUp() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/ping", "#!/bin/sh\n", mode: 0o755)
        age(dir)
        let r = resolver(dir)
        #expect(r.resolve("ping").function?.settings.timeout == nil)
        writeFile(dir + "/ping.json", #"{"timeout": 7}"#)
        #expect(r.resolve("ping").function?.settings.timeout == 7)
    }

    @Test func aSkipStillNamesAHandlerWithoutExecutePermission() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/ping", "#!/bin/sh\n", mode: 0o644)
        let r = resolver(dir)
        #expect(r.resolve("ping") == Resolution(function: nil, notExecutable: ["ping"]))
        chmod(dir + "/ping", 0o755)
        #expect(r.resolve("ping").function?.name == "ping")
    }

    // MARK: - The rules, from literals

    func stamp(_ t: Double, ino: UInt64 = 1) -> FileStamp { FileStamp(dev: 1, ino: ino, mode: 0o100755, size: 10, mtime: t, ctime: t) }

    @Test func anAnswerIsRememberedOnlyOnceEveryStampIsSettled() {
        let e = FunctionResolver.Entry(directory: stamp(100), files: [.init(path: "/f/a", stamp: stamp(105)), .init(path: "/f/b", stamp: nil)],
                                       resolution: Resolution(function: nil, notExecutable: []))
        #expect(FunctionResolver.isSettled(e, now: 107, settle: 2))
        #expect(!FunctionResolver.isSettled(e, now: 106, settle: 2))  // /f/a changed 1 s ago
        #expect(!FunctionResolver.isSettled(e, now: 90, settle: 2))   // stamps from the future: never trusted
    }

    @Test func anyChangedStampInvalidates() {
        let e = FunctionResolver.Entry(directory: stamp(100), files: [.init(path: "/f/a", stamp: stamp(105)), .init(path: "/f/b", stamp: nil)],
                                       resolution: Resolution(function: nil, notExecutable: []))
        let same: (String) -> FileStamp? = { $0 == "/f/a" ? self.stamp(105) : nil }
        #expect(FunctionResolver.stillValid(e, directory: stamp(100), current: same))
        #expect(!FunctionResolver.stillValid(e, directory: stamp(101), current: same))
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100, ino: 2), current: same))
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100)) { $0 == "/f/a" ? self.stamp(106) : nil })  // chmod, edit
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100)) { _ in nil })  // a file gone
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100)) { _ in self.stamp(105) })  // a dangling link's target appeared
    }
}
