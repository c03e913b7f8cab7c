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

@Suite struct FileSystemTests {
    /// Creates `name` (raw bytes) in `dir`; a directory when `directory`.
    func make(_ dir: String, _ name: [UInt8], directory: Bool = false) {
        let path = Array(dir.utf8) + [0x2F] + name + [0]
        path.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                if directory { #expect(mkdir(p, 0o700) == 0) } else {
                    let fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                    #expect(fd >= 0)
                    close(fd)
                }
            }
        }
    }

    @Test func removesATreeWhoseNamesAreNotUTF8() {
        let dir = makeTempDir()
        let bad: [UInt8] = Array("report-".utf8) + [0xFF] + Array(".txt".utf8)
        make(dir, bad)
        make(dir, [0xC3, 0x28], directory: true)  // an invalid UTF-8 sequence, as a directory
        make(dir, Array("sub".utf8), directory: true)
        make(dir + "/sub", bad)
        FileSystem.removeTree(dir)
        var st = stat()
        #expect(lstat(dir, &st) != 0 && errno == ENOENT)
    }

    @Test func rawNamesKeepTheBytes() throws {
        let dir = makeTempDir()
        defer { FileSystem.removeTree(dir) }
        make(dir, [0x61, 0xFF])
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        #expect(try DirectoryEntries.rawNames(ofDirectory: fd) == [[0x61, 0xFF]])
        #expect(try DirectoryEntries.names(dir) == ["a\u{FFFD}"])
    }

    @Test func doesNotFollowSymlinksOutOfTheTree() {
        let outside = makeTempDir()
        defer { FileSystem.removeTree(outside) }
        writeFile(outside + "/keep", "x")
        let dir = makeTempDir()
        #expect(symlink(outside, dir + "/link") == 0)
        FileSystem.removeTree(dir)
        var st = stat()
        #expect(lstat(dir, &st) != 0)
        #expect(stat(outside + "/keep", &st) == 0)
    }
}
