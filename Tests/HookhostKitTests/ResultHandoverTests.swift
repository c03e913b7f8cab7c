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

/// Runs as root (chown needs it): what a function user could put in the result's place must never
/// make the host hand over something else.
@Suite(.enabled(if: geteuid() == 0, "chown needs root")) struct ResultHandoverTests {
    static let nobody: UInt32 = 65534

    func owner(_ path: String) -> UInt32? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_uid : nil
    }

    /// A results directory as the fetch stage leaves it: made by the host, one file in it, and a
    /// root-owned file elsewhere that an attacker would like to own.
    func setUp() -> (root: String, dir: String, precious: String) {
        let root = makeTempDir("handover")
        let dir = root + "/results/abc"
        _ = FileSystem.makeDirectories(dir)
        writeFile(root + "/precious", "root only\n", mode: 0o600)
        return (root, dir, root + "/precious")
    }

    @Test func theFileAndThenItsDirectoryGoToTheUser() throws {
        let (root, dir, _) = setUp()
        defer { FileSystem.removeTree(root) }
        writeFile(dir + "/out.jsonl", "{}\n")
        try ResultHandover.handOver(directory: dir, fileName: "out.jsonl", uid: Self.nobody, gid: Self.nobody)
        #expect(owner(dir + "/out.jsonl") == Self.nobody)
        #expect(owner(dir) == Self.nobody)
    }

    @Test func aSymlinkInTheFilesPlaceIsNeverFollowed() throws {
        let (root, dir, precious) = setUp()
        defer { FileSystem.removeTree(root) }
        #expect(symlink(precious, dir + "/out.jsonl") == 0)
        do {
            try ResultHandover.handOver(directory: dir, fileName: "out.jsonl", uid: Self.nobody, gid: Self.nobody)
            Issue.record("a symlink was handed over")
        } catch {
            #expect(error.reason.contains("symbolic link") && !error.isFinal, "\(error.reason)")
        }
        #expect(owner(precious) == 0)
        #expect(owner(dir + "/out.jsonl") == 0)  // the link itself is not handed over either
        #expect(owner(dir) == 0)  // nor the directory: nothing is handed over on a refusal
    }

    @Test func aHardLinkInTheFilesPlaceIsRefused() throws {
        let (root, dir, precious) = setUp()
        defer { FileSystem.removeTree(root) }
        #expect(link(precious, dir + "/out.jsonl") == 0)
        do {
            try ResultHandover.handOver(directory: dir, fileName: "out.jsonl", uid: Self.nobody, gid: Self.nobody)
            Issue.record("a hard link was handed over")
        } catch {
            #expect(error.reason.contains("2 links"), "\(error.reason)")
        }
        #expect(owner(precious) == 0 && owner(dir) == 0)
    }

    @Test func aDirectoryAlreadyTheUsersIsNotTrusted() throws {
        // Once the user owns the directory it can swap any name in it between check and use.
        let (root, dir, precious) = setUp()
        defer { FileSystem.removeTree(root) }
        writeFile(dir + "/out.jsonl", "{}\n")
        #expect(chown(dir, Self.nobody, Self.nobody) == 0)
        #expect(throws: FetchError.self) {
            try ResultHandover.handOver(directory: dir, fileName: "out.jsonl", uid: Self.nobody, gid: Self.nobody)
        }
        #expect(owner(dir + "/out.jsonl") == 0 && owner(precious) == 0)
    }

    @Test func aDirectoryThatIsALinkIsNotFollowed() throws {
        let (root, dir, _) = setUp()
        defer { FileSystem.removeTree(root) }
        writeFile(dir + "/out.jsonl", "{}\n")
        #expect(symlink(dir, root + "/via-link") == 0)
        #expect(throws: FetchError.self) {
            try ResultHandover.handOver(directory: root + "/via-link", fileName: "out.jsonl", uid: Self.nobody, gid: Self.nobody)
        }
        #expect(owner(dir) == 0 && owner(dir + "/out.jsonl") == 0)
    }
}
