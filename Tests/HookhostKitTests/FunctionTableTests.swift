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

@Suite struct FunctionTableTests {
    @Test func resolvesExactThenFamilyThenDefault() throws {
        let dir = makeTempDir("fn")
        defer { FileSystem.removeTree(dir) }
        let table = FunctionTable(directory: dir)
        #expect(table.resolve("batch.failed") == nil)
        writeFile(dir + "/_default", "#!/bin/sh\n", mode: 0o755)
        #expect(table.resolve("batch.failed")?.name == "_default")
        writeFile(dir + "/batch", "#!/bin/sh\n", mode: 0o755)
        #expect(table.resolve("batch.failed")?.name == "batch")
        writeFile(dir + "/batch.failed", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/batch.failed.json", #"{"timeout": 7, "max_concurrency": 2, "max_attempts": 3, "fetch": false, "env": {"K": "v"}, "future": 1}"#)
        let f = try #require(table.resolve("batch.failed"))
        #expect(f.name == "batch.failed")
        #expect(f.settings.timeout == 7)
        #expect(f.settings.maxConcurrency == 2)
        #expect(f.settings.maxAttempts == 3)
        #expect(f.settings.fetch == false)
        #expect(f.settings.env.map { "\($0.0)=\($0.1)" } == ["K=v"])
        // Not executable: skipped over.
        writeFile(dir + "/video.generated", "#!/bin/sh\n", mode: 0o644)
        #expect(table.resolve("video.generated")?.name == "_default")
        // Removal takes effect at once.
        unlink(dir + "/batch.failed")
        #expect(table.resolve("batch.failed")?.name == "batch")
        #expect(table.resolve("../batch") == nil)
        #expect(table.all().map(\.name) == ["_default", "batch"])
    }

    @Test func brokenSidecarIsReportedNotIgnored() {
        let dir = makeTempDir("fn")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/ping", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/ping.json", #"{"timeout": "soon"}"#)
        #expect(FunctionTable(directory: dir).resolve("ping")?.sidecarError?.contains("timeout") == true)
    }

    // Issue 12 item 2: mistakes are reported, not swallowed.
    @Test func aNonExecutableScriptIsFoundButAReadmeIsNot() {
        let dir = makeTempDir("fnx")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/batch.failed", "#!/bin/sh\nexit 0\n", mode: 0o644)
        writeFile(dir + "/batch", "#!/bin/sh\nexit 0\n", mode: 0o755)
        writeFile(dir + "/README.txt", "read me\n", mode: 0o644)
        writeFile(dir + "/_default", "\u{7F}ELF....", mode: 0o600)
        let table = FunctionTable(directory: dir)
        #expect(table.notExecutable() == ["_default", "batch.failed"])
        #expect(table.notExecutable(candidatesOf: "batch.failed") == ["batch.failed", "_default"])
        #expect(table.notExecutable(candidatesOf: "video.generated") == ["_default"])
        // It still routes past it, as before: the warning is what changed.
        #expect(table.resolve("batch.failed")?.name == "batch")
    }
}
