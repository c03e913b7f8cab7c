import Glibc
import Testing
@testable import HookSupport
@testable import HookhostKit

@Suite struct SecretsFileWriterTests {
    func append(_ path: String, _ line: String) throws {
        try SecretsFileWriter.update(path) { text throws(SecretsFileError) in (text + line + "\n", ()) }
    }

    @Test func aNewFileIsCreated0600WhateverTheUmask() throws {
        let dir = makeTempDir("sfw")
        defer { FileSystem.removeTree(dir) }
        let old = umask(0)
        defer { umask(old) }
        try append(dir + "/secrets", "one")
        try append(dir + "/secrets", "two")
        var st = stat()
        #expect(lstat(dir + "/secrets", &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(String(decoding: try SmallFile.read(dir + "/secrets", limit: 100), as: UTF8.self) == "one\ntwo\n")
        // No temporary file is left behind.
        #expect(try DirectoryEntries.names(dir).filter { $0.hasSuffix(".tmp") }.isEmpty)
    }

    @Test func aReadableFileOrASymlinkIsRefusedAndLeftAlone() throws {
        let dir = makeTempDir("sfw")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/open", "x\n", mode: 0o644)
        #expect { try append(dir + "/open", "y") } throws: { ($0 as? SecretsFileError)?.message.contains("chmod 600") == true }
        writeFile(dir + "/target", "x\n", mode: 0o600)
        symlink(dir + "/target", dir + "/link")
        #expect { try append(dir + "/link", "y") } throws: { ($0 as? SecretsFileError)?.message.contains("symbolic link") == true }
        #expect(String(decoding: try SmallFile.read(dir + "/target", limit: 100), as: UTF8.self) == "x\n")
    }

    @Test func concurrentWritersLoseNoLine() throws {
        let dir = makeTempDir("sfw")
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/secrets"
        // Each writer reads, appends and renames under the lock: without it, one would rename a
        // copy that misses the other's line.
        let threads = (0..<4).map { t in
            startThread(name: "writer-\(t)") {
                for i in 0..<25 { try? SecretsFileWriter.update(path) { text throws(SecretsFileError) in (text + "w\(t)-\(i)\n", ()) } }
            }
        }
        for t in threads { t.join() }
        let lines = String(decoding: try SmallFile.read(path, limit: 1 << 20), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 100)
        #expect(Set(lines).count == 100)
    }
}
