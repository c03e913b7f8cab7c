import Foundation
import Glibc
import HookEvent
import Testing

@Suite struct EmitterTests {
    private func lines(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func appendsOneCompactSortedLinePerEvent() throws {
        let dir = makeTempDir("emit")
        let path = dir + "/emit.jsonl"
        writeFile(path, "{\"type\":\"app.earlier\",\"data\":{}}\n")
        let emitter = try Emitter(path: path)
        try emitter.emit(type: "app.batch.retry", data: ["key": "request-9", "batch": "batches/abc", "line": 9])
        try emitter.emit(type: "app.note", data: ["text": "two\nlines"], userMetadata: ["job_group": "nightly-eval"])
        #expect(try lines(path) == [
            #"{"type":"app.earlier","data":{}}"#,
            #"{"data":{"batch":"batches/abc","key":"request-9","line":9},"type":"app.batch.retry"}"#,
            #"{"data":{"text":"two\nlines"},"type":"app.note","user_metadata":{"job_group":"nightly-eval"}}"#,
        ])
    }

    @Test func theSameEventIsTheSameBytes() throws {
        let data: [String: JSONValue] = ["b": 1, "a": ["z": true, "y": nil], "c": "x/y"]
        let first = try Emitter.line(type: "app.x", data: data, userMetadata: nil)
        let second = try Emitter.line(type: "app.x", data: data, userMetadata: nil)
        #expect(first == second)
        #expect(String(decoding: first, as: UTF8.self) == #"{"data":{"a":{"y":null,"z":true},"b":1,"c":"x/y"},"type":"app.x"}"# + "\n")
    }

    @Test func fromEnvironmentIsNilWithoutHOOKHOST_EMIT() throws {
        #expect(try Emitter.fromEnvironment([:]) == nil)
        #expect(try Emitter.fromEnvironment(["HOOKHOST_EMIT": ""]) == nil)
        let path = makeTempDir("emit") + "/e"
        #expect(try Emitter.fromEnvironment(["HOOKHOST_EMIT": path])?.path == path)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test func refusesTypesOfGeminiAndHookhostAndNonNames() throws {
        let path = makeTempDir("emit") + "/e"
        let emitter = try Emitter(path: path)
        for reserved in ["batch.succeeded", "batch", "video.generated", "interaction.requires_action", "hookhost.x", "Batch.succeeded", "VIDEO.generated", "HookHost.x"] {
            #expect(throws: EmitError.reservedType(reserved)) { try emitter.emit(type: reserved, data: [:]) }
        }
        for bad in ["", "app..retry", ".app", "app.", "app/x", "app retry", "ключ", String(repeating: "a", count: 129)] {
            #expect(throws: EmitError.invalidType(bad)) { try emitter.emit(type: bad, data: [:]) }
        }
        // Families are whole segments: "batches.x" is not the batch family.
        try emitter.emit(type: "batches.x", data: [:])
        try emitter.emit(type: "_app-1.B_2", data: [:])
        #expect(try lines(path).count == 2, "a refused event writes nothing")
    }

    @Test func neverFollowsASymlinkNorOpensAFIFOOrARelativePath() throws {
        let dir = makeTempDir("emit")
        writeFile(dir + "/target", "keep\n")
        #expect(symlink(dir + "/target", dir + "/link") == 0)
        let error = #expect(throws: EmitError.self) { try Emitter(path: dir + "/link") }
        guard case .open(let path, _)? = error else { Issue.record("expected .open, got \(String(describing: error))"); return }
        #expect(path == dir + "/link")
        #expect(try String(contentsOfFile: dir + "/target", encoding: .utf8) == "keep\n")

        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        // No reader: ENXIO at once instead of waiting for one (O_NONBLOCK); with one, not a regular file.
        #expect(throws: EmitError.open(path: dir + "/fifo", reason: "No such device or address")) { try Emitter(path: dir + "/fifo") }
        let reader = open(dir + "/fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        defer { close(reader) }
        #expect(throws: EmitError.notRegularFile(dir + "/fifo")) { try Emitter(path: dir + "/fifo") }
        #expect(throws: EmitError.open(path: dir, reason: "Is a directory")) { try Emitter(path: dir) }
        #expect(throws: EmitError.notAbsolute("emit.jsonl")) { try Emitter(path: "emit.jsonl") }
    }

    @Test func errorsSayWhatIsWrong() {
        #expect(EmitError.reservedType("batch.retry").description.contains("only Gemini or hookhost"))
        #expect(EmitError.notAbsolute("x").description == #"emit: HOOKHOST_EMIT "x" is not an absolute path"#)
    }
}
