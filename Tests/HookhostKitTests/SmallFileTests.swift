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

@Suite struct SmallFileTests {
    func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    @Test func readsAWholeFileUpToTheLimit() throws {
        let dir = makeTempDir()
        defer { FileSystem.removeTree(dir) }
        write(dir + "/f", Array(repeating: 65, count: 40_000))
        #expect(try SmallFile.read(dir + "/f", limit: 40_000).count == 40_000)
    }

    @Test func overTheLimitIsAnErrorNotACutCopy() {
        let dir = makeTempDir()
        defer { FileSystem.removeTree(dir) }
        write(dir + "/f", Array(repeating: 65, count: 40_001))
        #expect(throws: SmallFileError.tooLarge(path: dir + "/f", limit: 40_000)) { try SmallFile.read(dir + "/f", limit: 40_000) }
        #expect(FileSystem.read(dir + "/f", limit: 40_000) == nil)
    }

    @Test func missingIsToldApart() {
        do { _ = try SmallFile.read("/nonexistent-hookhost/x", limit: 10); Issue.record("read a missing file") } catch {
            #expect(error.isMissing)
        }
    }

    @Test func anOversizedSidecarMakesTheFunctionUnusable() {
        let dir = makeTempDir()
        defer { FileSystem.removeTree(dir) }
        write(dir + "/ping", Array("#!/bin/sh\n".utf8))
        chmod(dir + "/ping", 0o755)
        // Valid JSON whose first megabyte alone would not parse: cut, it used to fail for the wrong reason.
        let big = Array("{\"env\": {\"PAD\": \"".utf8) + Array(repeating: 120, count: FunctionTable.maxSidecarBytes) + Array("\"}}".utf8)
        write(dir + "/ping.json", big)
        let f = FunctionTable(directory: dir).resolve("ping")
        #expect(f?.sidecarError?.contains("larger than \(FunctionTable.maxSidecarBytes) bytes") == true, "\(f?.sidecarError ?? "nil")")
    }

    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() {
        let dir = makeTempDir()
        defer { FileSystem.removeTree(dir) }
        #expect(mkfifo(dir + "/f", 0o600) == 0)
        // Before the fix this open(2) blocked until a writer appeared: the test would hang.
        #expect(throws: SmallFileError.notRegularFile(path: dir + "/f", kind: "FIFO")) { try SmallFile.read(dir + "/f", limit: 100) }
    }

    @Test func devicesAndDirectoriesAreRefused() {
        #expect(throws: SmallFileError.notRegularFile(path: "/dev/zero", kind: "character device")) { try SmallFile.read("/dev/zero", limit: 100) }
        #expect(throws: SmallFileError.notRegularFile(path: "/", kind: "directory")) { try SmallFile.read("/", limit: 100) }
    }

    @Test func aFIFOSidecarMakesTheFunctionUnusable() {
        let dir = makeTempDir()
        defer { FileSystem.removeTree(dir) }
        write(dir + "/ping", Array("#!/bin/sh\n".utf8))
        chmod(dir + "/ping", 0o755)
        #expect(mkfifo(dir + "/ping.json", 0o600) == 0)
        let f = FunctionTable(directory: dir).resolve("ping")
        #expect(f?.sidecarError?.contains("not a regular file") == true, "\(f?.sidecarError ?? "nil")")
    }
}
