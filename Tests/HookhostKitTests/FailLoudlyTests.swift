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

/// Issue 12 item 2: mistakes are reported, not swallowed.
@Suite struct FailLoudlyTests {
    static func result(stdout: String, code: Int32 = 0) -> ProcessResult {
        ProcessResult(termination: .exited(code), stdout: Array(stdout.utf8), stdoutTruncated: false, stderrTail: [], duration: 0, pid: 1)
    }

    @Test func nonJSONStdoutKeepsItsFirstBytes() {
        let long = "hello, this is not JSON " + String(repeating: "x", count: 400)
        let a = RunClassifier.classify(Self.result(stdout: long), timeout: 5)
        #expect(a.output == nil)
        #expect(a.stdoutHead == String(long.prefix(RunClassifier.stdoutHeadBytes)))
        #expect(a.outcome == .ok)  // the outcome does not change
        // A JSON object is the output, nothing else is kept; an empty stdout says nothing.
        #expect(RunClassifier.classify(Self.result(stdout: "{\"a\":1}\n"), timeout: 5).stdoutHead == nil)
        #expect(RunClassifier.classify(Self.result(stdout: " \n"), timeout: 5).stdoutHead == nil)
        #expect(RunClassifier.classify(Self.result(stdout: "[1,2]"), timeout: 5).stdoutHead == "[1,2]")
    }

    @Test func stdoutHeadSurvivesTheSpoolRecord() {
        var change = StateChange(id: "a", state: .done, attempt: 1, at: 1)
        change.stdoutHead = "not json\n\"quoted\""
        let bytes = SpoolRecord.state(change).encoded()
        let scan = SpoolScanner.scan(bytes)
        guard case .state(let back)? = scan.records.first?.record else { Issue.record("no record"); return }
        #expect(back.stdoutHead == change.stdoutHead)
        // Records written before the field read as before.
        let old = SpoolRecord.state(StateChange(id: "a", state: .done, attempt: 1, at: 1)).encoded()
        guard case .state(let plain)? = SpoolScanner.scan(old).records.first?.record else { Issue.record("no record"); return }
        #expect(plain.stdoutHead == nil)
    }

    @Test func exit65SaysTheFunctionDeclaredTheInputUnusable() {
        let a = RunClassifier.classify(Self.result(stdout: "", code: 65), timeout: 5)
        #expect(a.outcome == .dead)
        #expect(a.failure == "function declared the input unusable (exit 65)")
    }

    @Test func nothingToVerifyWithIsNotReady() {
        let never = JWKSStatus(location: "https://x/jwks.json", keys: 0, age: nil, failing: true, lastError: "Couldn't connect")
        let notYet = JWKSStatus(location: "https://x/jwks.json", keys: 0, age: nil, failing: false, lastError: nil)
        let ok = JWKSStatus(location: "https://x/jwks.json", keys: 2, age: 5, failing: false, lastError: nil)
        #expect(VerificationReadiness.problem(hmacSecrets: 1, jwks: never) == nil)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: ok) == nil)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: never)?.contains("Couldn't connect") == true)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: notYet)?.contains("not fetched yet") == true)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: nil)?.contains("no verification method") == true)
    }

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

    @Test func aSecretsFileRewrittenWithTheSameSizeAndTimesIsReloaded() throws {
        let dir = makeTempDir("sec")
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/secrets"
        let a = WebhookSecret(key: Array(repeating: 1, count: 24)), b = WebhookSecret(key: Array(repeating: 2, count: 24))
        writeFile(path, a.encoded + "\n")
        var st = stat()
        stat(path, &st)
        let store = try SecretsStore(fixed: [], file: path, tolerance: 300, logger: quietLogger)
        #expect(store.verifier.secrets.map(\.fingerprint) == [a.fingerprint])
        writeFile(path, b.encoded + "\n")  // same length
        // Same modification time to the nanosecond, same size: only the content differs.
        var times = [st.st_atim, st.st_mtim]
        _ = utimensat(AT_FDCWD, path, &times, 0)
        store.reload()
        #expect(store.verifier.secrets.map(\.fingerprint) == [b.fingerprint])
    }
}
