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

    @Test func aLeftoverTemporaryFileIsRemovedNotWrittenThroughAndTheModeIsExact() throws {
        let dir = makeTempDir("atomic")
        defer { FileSystem.removeTree(dir) }
        // What a writer killed mid-way left under the temporary name: here a symlink to a file
        // elsewhere, which must not receive the new bytes.
        let elsewhere = dir + "/elsewhere"
        try AtomicFile.replace(directory: dir, name: "elsewhere", with: bytes("theirs"))
        #expect(symlink(elsewhere, dir + "/.f.tmp") == 0)
        let old = umask(0o077)
        defer { umask(old) }
        try AtomicFile.replace(directory: dir, name: "f", with: bytes("ours"), mode: 0o640)
        #expect(try SmallFile.read(elsewhere, limit: 100) == bytes("theirs"))
        #expect(try SmallFile.read(dir + "/f", limit: 100) == bytes("ours"))
        #expect(try DirectoryEntries.names(dir).sorted() == ["elsewhere", "f"])
        var st = stat()
        #expect(stat(dir + "/f", &st) == 0 && st.st_mode & 0o777 == 0o640, "fchmod sets the mode the umask would have narrowed")
        // A probe writes and removes its copy; the file stays as it was.
        let dfd = open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(dfd) }
        try AtomicFile.replace(in: dfd, directory: dir, name: "f", with: bytes("probe"), probeOnly: true)
        #expect(try SmallFile.read(dir + "/f", limit: 100) == bytes("ours"))
        #expect(try DirectoryEntries.names(dir).sorted() == ["elsewhere", "f"])
    }
}
