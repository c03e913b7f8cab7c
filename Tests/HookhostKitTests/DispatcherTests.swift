import Glibc
import Synchronization
import Testing
@testable import HookhostKit

/// A launcher that fails to start with the given errnos, in order, then runs "successfully".
final class RefusingLauncher: ProcessLauncher {
    private let failures: Mutex<[Int32]>
    /// `HOOKHOST_ATTEMPT` of every start tried.
    let attempts = Mutex<[String]>([])

    init(failing errnos: [Int32]) { failures = Mutex(errnos) }

    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let attempt = spec.environment.first { $0.hasPrefix("HOOKHOST_ATTEMPT=") }.map { String($0.dropFirst(17)) } ?? "?"
        attempts.withLock { $0.append(attempt) }
        if let e = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw SpawnError(executable: spec.executable, code: e) }
        return ProcessResult(termination: .exited(0), stdout: [], stdoutTruncated: false, stderrTail: [], duration: 0, pid: nil)
    }
}

@Suite struct DispatcherTests {
    /// Runs one delivery through a dispatcher with `launcher` and a budget of one attempt;
    /// returns its final state.
    func runOne(_ launcher: RefusingLauncher) throws -> DeliveryInfo? {
        let dir = makeTempDir("disp")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/_default", "#!/bin/sh\n", mode: 0o755)
        _ = FileSystem.makeDirectories(dir + "/data")
        let spool = try openSpool(dir + "/data")
        var config = DispatcherConfig(workRoot: dir + "/work", baseEnvironment: [])
        config.workers = 1
        config.retry = RetryPolicy(base: 0.01, cap: 0.05, maxAttempts: 1)
        config.shortageRetryDelay = 0.01
        config.nice = nil
        let d = Dispatcher(spool: spool, table: FunctionTable(directory: dir + "/fn"), launcher: launcher, config: config,
                           logger: quietLogger, metrics: Metrics())
        #expect(admitSync(spool, "m1") == .accepted)
        d.start()
        for _ in 0..<500 {
            if let s = spool.info("m1")?.state, s == .done || s == .dead { break }
            usleep(10_000)
        }
        d.drain(grace: 2)
        spool.stopWriter()
        return spool.info("m1")
    }

    @Test(arguments: [EMFILE, ENFILE, EAGAIN, ENOMEM])
    func resourceShortageAtSpawnSpendsNoAttempt(_ code: Int32) throws {
        let launcher = RefusingLauncher(failing: [code, code])
        let info = try runOne(launcher)
        #expect(info?.state == .done)
        #expect(info?.attempt == 1)
        #expect(launcher.attempts.withLock { $0 } == ["1", "1", "1"])
    }

    @Test(arguments: [ENOENT, EACCES])
    func otherSpawnErrorsAreFailedAttempts(_ code: Int32) throws {
        let launcher = RefusingLauncher(failing: [code])
        let info = try runOne(launcher)
        #expect(info?.state == .dead)
        #expect(launcher.attempts.withLock { $0 } == ["1"])
    }
}
