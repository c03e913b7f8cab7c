import Glibc
import Synchronization
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

    @Test func theWritableCheckLeavesTheFileAsItWasAndNothingBeside() throws {
        let dir = makeTempDir("sfw")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/secrets", "# mine\n", mode: 0o600)
        let lock = try SecretsFileLock(dir + "/secrets")
        #expect(try lock.checkWritable(extra: 4096) == "# mine\n")
        #expect(String(decoding: try SmallFile.read(dir + "/secrets", limit: 100), as: UTF8.self) == "# mine\n")
        #expect(try DirectoryEntries.names(dir).sorted() == [".secrets.lock", "secrets"])
        // No file yet: checked, and still none (the first secret creates it).
        #expect(try SecretsFileLock(dir + "/new").checkWritable(extra: 10) == "")
        #expect(access(dir + "/new", F_OK) != 0)
    }

    @Test func aSecondHolderWaitsAndIsToldSo() throws {
        let dir = makeTempDir("sfw")
        defer { FileSystem.removeTree(dir) }
        var first: SecretsFileLock? = try SecretsFileLock(dir + "/secrets")
        let told = Monitor()
        let waited = Mutex(false)
        let second = startThread(name: "second") {
            let lock = try? SecretsFileLock(dir + "/secrets") { told.locked { waited.withLock { $0 = true }; told.signal() } }
            _ = try? lock?.update { text throws(SecretsFileError) in (text + "second\n", ()) }
        }
        // The first holder lets go only once the second has said it waits.
        told.locked { for _ in 0..<30 where !waited.withLock({ $0 }) { told.wait(seconds: 1) } }
        #expect(waited.withLock { $0 })
        _ = try first?.update { text throws(SecretsFileError) in (text + "first\n", ()) }
        first = nil
        second.join()
        #expect(String(decoding: try SmallFile.read(dir + "/secrets", limit: 100), as: UTF8.self) == "first\nsecond\n")
    }
}
