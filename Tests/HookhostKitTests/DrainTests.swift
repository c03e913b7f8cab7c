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

/// Shutdown is polite and free: running functions get SIGTERM at once, SIGKILL after the grace
/// period; a run cut short records nothing (it resumes at the next start without spending an
/// attempt), a run that answers in time is recorded.
@Suite(.serialized) struct DrainTests {
    /// Starts one delivery of a function with `script`, waits until it wrote `started`, drains
    /// with `steps`; returns the delivery's state afterwards and how long the drain took.
    func drainWhileRunning(_ script: String, _ steps: [TeardownStep]) throws -> (DeliveryInfo?, Double, String) {
        let dir = makeTempDir("drain")
        defer { FileSystem.removeTree(dir) }
        _ = FileSystem.makeDirectories(dir + "/fn")
        writeFile(dir + "/fn/_default", "#!/bin/sh\nOUT=\(dir)\n" + script, mode: 0o755)
        let spool = MemoryDeliveryStore()
        var config = testDispatcherConfig(root: dir, workers: 1, environment: ["PATH=/usr/bin:/bin"])
        config.retry = RetryPolicy(base: 0.01, cap: 0.05, maxAttempts: 1)
        let d = Dispatcher(spool: spool, table: FunctionTable(directory: dir + "/fn"), config: config, logger: quietLogger, metrics: Metrics())
        #expect(admitSync(spool, "m1") == .accepted)
        d.start()
        // Up to 30 s for the function to start: the whole unit suite runs in parallel on 2 cores.
        for _ in 0..<3000 where access(dir + "/started", F_OK) != 0 { usleep(10_000) }
        #expect(access(dir + "/started", F_OK) == 0)
        usleep(50_000)  // past the trap's installation
        let t0 = monotonicNow()
        d.drain(steps)
        let took = monotonicNow() - t0
        let marker = (try? SmallFile.read(dir + "/term", limit: 100)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (spool.info("m1"), took, marker)
    }

    @Test func aFunctionThatFinishesOnSIGTERMIsRecordedAndTheDrainDoesNotWaitTheGrace() throws {
        let (info, took, marker) = try drainWhileRunning("""
            trap 'echo term > "$OUT/term"; echo "{\\"stopped\\":true}"; exit 0' TERM
            touch "$OUT/started"
            while :; do sleep 0.05; done
            """, TeardownStep.shutdown(grace: 5))
        #expect(marker == "term\n")
        #expect(info?.state == .done)
        #expect(took < 3, "the drain waited \(took) s for a function that had finished")
    }

    @Test func aFunctionKilledBySIGTERMSpendsNoAttempt() throws {
        // Default disposition: SIGTERM ends it. With one attempt allowed, a failed attempt would
        // be a dead letter; cut short by shutdown, it stays running and resumes at the next start.
        let (info, took, _) = try drainWhileRunning("touch \"$OUT/started\"\nsleep 30\n", TeardownStep.shutdown(grace: 5))
        #expect(info?.state == .running, "\(info?.lastError ?? "-")")
        #expect(took < 3)
    }

    @Test func aFunctionIgnoringSIGTERMIsKilledAfterTheGrace() throws {
        let (info, took, _) = try drainWhileRunning("trap '' TERM\ntouch \"$OUT/started\"\nsleep 30\n",
                                                    [.signal(SIGTERM), .wait(0.5), .signal(SIGKILL)])
        #expect(info?.state == .running)
        #expect(took >= 0.5 && took < 4, "drain took \(took) s")
    }

    @Test func cutShortMeansAnythingButADeliberateAnswer() {
        #expect(!Dispatcher.cutShortByShutdown(.exited(0)))
        #expect(!Dispatcher.cutShortByShutdown(.exited(65)))
        #expect(!Dispatcher.cutShortByShutdown(.exited(75)))
        #expect(Dispatcher.cutShortByShutdown(.exited(1)))
        #expect(Dispatcher.cutShortByShutdown(.exited(143)))
        #expect(Dispatcher.cutShortByShutdown(.signaled(SIGTERM)))
        #expect(Dispatcher.cutShortByShutdown(.timedOut))
    }
}
