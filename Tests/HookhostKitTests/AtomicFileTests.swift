import Glibc
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct AtomicFileTests {
    @Test func replacesTheWholeFileAndLeavesNoTemporaryOne() throws {
        let dir = makeTempDir("atomic")
        defer { FileSystem.removeTree(dir) }
        try AtomicFile.replace(directory: dir, name: "f.json", with: bytes("first, and longer"))
        try AtomicFile.replace(directory: dir, name: "f.json", with: bytes("second"))
        #expect(try SmallFile.read(dir + "/f.json", limit: 100) == bytes("second"))
        #expect(try DirectoryEntries.names(dir) == ["f.json"])
        var st = stat()
        #expect(stat(dir + "/f.json", &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test func aFailureNamesTheStepAndKeepsTheOldFile() throws {
        let dir = makeTempDir("atomic")
        defer { FileSystem.removeTree(dir) }
        #expect(throws: SystemError.self) { try AtomicFile.replace(directory: dir + "/missing", name: "f", with: []) }
        try AtomicFile.replace(directory: dir, name: "f", with: bytes("old"))
        // A directory in the way of the rename: the old name cannot be replaced by a file.
        _ = FileSystem.makeDirectories(dir + "/d")
        do {
            try AtomicFile.replace(directory: dir, name: "d", with: bytes("new"))
            Issue.record("renamed a file over a directory")
        } catch {
            #expect(error.operation == "rename" && error.subject == dir + "/d")
        }
        #expect(try DirectoryEntries.names(dir).sorted() == ["d", "f"])
        #expect(try SmallFile.read(dir + "/f", limit: 100) == bytes("old"))
    }
}
