import Glibc
import Synchronization
import Testing
@testable import HookSupport
@testable import HookSpool
@testable import HookDispatch
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookFetch
@testable import HookhostKit

@Suite struct FunctionPausesTests {
    @Test func aPauseIsKeptInTheDataDirectoryAndReadBackAfterARestart() throws {
        let dir = makeTempDir("pauses")
        defer { FileSystem.removeTree(dir) }
        let p = try FunctionPauses.load(directory: dir)
        #expect(p.list.isEmpty)  // no file: nothing paused
        #expect(try p.pause("job", at: 42))
        #expect(!(try p.pause("job", at: 43)))
        #expect(try FunctionPauses.load(directory: dir).list.since == ["job": 42])
        #expect(try FunctionPauses.read(directory: dir).contains("job"))
        #expect(try p.resume("job"))
        #expect(!(try p.resume("job")))
        #expect(try FunctionPauses.load(directory: dir).list.isEmpty)
        // Written through a temporary name, which is gone after each change.
        #expect(try DirectoryEntries.names(dir).sorted() == ["paused.json"])
    }

    @Test func aFileThatCannotBeReadIsAnErrorNotAnEmptyList() throws {
        let dir = makeTempDir("pauses")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/paused.json", #"{"paused":[{"function":"job"}]}"#)
        #expect(throws: PauseFileError.unreadable(path: dir + "/paused.json", "entry 1 (job): \"since\" is not a time")) {
            try FunctionPauses.load(directory: dir)
        }
    }

    @Test func aChangeThatCannotBeWrittenChangesNothing() throws {
        let dir = makeTempDir("pauses")
        let p = try FunctionPauses.load(directory: dir)
        FileSystem.removeTree(dir)
        #expect(throws: PauseFileError.self) { try p.pause("job", at: 1) }
        #expect(!p.isPaused("job"))
    }

    @Test func observersSeeEachChangeOnceBeforeItReturns() throws {
        let p = FunctionPauses()
        let seen = Mutex<[String]>([])
        p.observe(paused: { n in seen.withLock { $0.append("pause " + n) } }, resumed: { n in seen.withLock { $0.append("resume " + n) } })
        try p.pause("a", at: 1)
        try p.pause("a", at: 2)
        try p.resume("a")
        try p.resume("a")
        #expect(seen.withLock { $0 } == ["pause a", "resume a"])
    }
}
