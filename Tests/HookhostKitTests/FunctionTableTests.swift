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

    // Issue 19 item 3: a function that kept its extension never runs; it is named, with the fix.
    @Test func aFileNamedLikeAFunctionPlusAnExtensionIsReported() {
        #expect(FunctionTable.meantName("video.generated.py") == "video.generated")
        #expect(FunctionTable.meantName("batch.succeeded.sh") == "batch.succeeded")
        #expect(FunctionTable.meantName("batch.completed.SH") == "batch.succeeded")  // delivered as batch.succeeded
        #expect(FunctionTable.meantName("batch.swift") == "batch")
        #expect(FunctionTable.meantName("_default.rb") == "_default")
        #expect(FunctionTable.meantName("video.generated") == nil)
        #expect(FunctionTable.meantName("video.generated.json") == nil)  // a sidecar
        #expect(FunctionTable.meantName("notes.txt") == nil)
        #expect(FunctionTable.meantName("README.md") == nil)
        #expect(FunctionTable.meantName(".py") == nil)
        #expect(FunctionTable.meantName("bad name.py") == nil)

        let dir = makeTempDir("fnm")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/video.generated.py", "#!/usr/bin/env python3\n", mode: 0o755)
        writeFile(dir + "/batch.succeeded.sh", "#!/bin/sh\n", mode: 0o644)
        // The source next to the installed function: its name is taken, so the extension is deliberate.
        writeFile(dir + "/batch.failed", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/batch.failed.sh", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/README.txt", "read me\n")
        mkdir(dir + "/interaction.go", 0o755)  // a directory is not a function file
        let table = FunctionTable(directory: dir)
        #expect(table.misnamed() == [MisnamedFunction(file: "batch.succeeded.sh", meant: "batch.succeeded"),
                                     MisnamedFunction(file: "video.generated.py", meant: "video.generated")])
        #expect(table.misnamed()[1].problem
                == "video.generated.py is not run for video.generated: a function's file name is the event type exactly; did you mean video.generated?")
        #expect(table.misnamed(candidatesOf: "video.generated").map(\.file) == ["video.generated.py"])
        #expect(table.misnamed(candidatesOf: "batch.expired").isEmpty)
        // Nothing about routing changes: video.generated still has no function.
        #expect(table.resolve("video.generated") == nil)
    }

    @Test func aFunctionNamedByPathGetsItsSidecar() {
        let dir = makeTempDir("fnp")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/handler", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/handler.json", #"{"timeout": 3}"#)
        let f = FunctionTable.function(at: dir + "/handler", name: "handler")
        #expect(f.settings.timeout == 3 && f.sidecarError == nil && f.path == dir + "/handler")
        writeFile(dir + "/handler.json", "{")
        #expect(FunctionTable.function(at: dir + "/handler", name: "handler").sidecarError?.hasPrefix("handler.json: ") == true)
    }
}
