import Dispatch
import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// Waits for an asynchronous admit.
func admitSync(_ spool: any DeliveryStore, _ id: String, type: String = "batch.succeeded", body: String = #"{"type":"batch.succeeded"}"#) -> AdmitResult {
    let sem = DispatchSemaphore(value: 0)
    let box = Mutex<AdmitResult?>(nil)
    spool.admit(id: id, type: type, verifiedBy: .hmac, body: bytes(body)) { r in box.withLock { $0 = r }; sem.signal() }
    sem.wait()
    return box.withLock { $0! }
}

func openSpool(_ dir: String, clock: any WallClock = SystemClock(), configure: (inout SpoolConfig) -> Void = { _ in }) throws -> Spool {
    var c = SpoolConfig(directory: dir)
    configure(&c)
    let s = try Spool(config: c, clock: clock, logger: quietLogger)
    s.startWriter()
    return s
}

/// Takes the next job without a concurrency gate.
func take(_ s: any DeliveryStore) -> Job? {
    guard let due = s.nextDue(), let started = s.start(due.id) else { return nil }
    return Job(started)
}

@Suite struct SpoolTests {
    @Test func admitDedupAndRecovery() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "m1", body: #"{"type":"batch.succeeded","n":1}"#) == .accepted)
        #expect(admitSync(s, "m1") == .duplicate)
        #expect(admitSync(s, "m2") == .accepted)
        #expect(s.queueDepth == 2)
        s.stopWriter(); s.stopTaking()

        let r = try openSpool(dir)
        #expect(r.queueDepth == 2)
        #expect(admitSync(r, "m1") == .duplicate)
        let job = try #require(take(r))
        #expect(job.id == "m1")
        #expect(job.attempt == 1)
        #expect(job.body == bytes(#"{"type":"batch.succeeded","n":1}"#))
    }

    @Test func concurrentIdenticalDeliveriesAreAcceptedOnce() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        let results = Mutex<[AdmitResult]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let r = admitSync(s, "same-\(i % 4)")
            results.withLock { $0.append(r) }
        }
        let all = results.withLock { $0 }
        #expect(all.filter { $0 == .accepted }.count == 4)
        #expect(all.filter { $0 == .duplicate }.count == 12)
        #expect(s.queueDepth == 4)
        s.stopTaking(); s.stopWriter()
        // Exactly one record per id reached the disk.
        let scan = SpoolScanner.scan(FileSystem.read(dir + "/spool.log") ?? [])
        let ids = scan.records.compactMap { r -> String? in if case .delivery(let id, _, _, _, _, _, _) = r.record { return id }; return nil }
        #expect(ids.sorted() == ["same-0", "same-1", "same-2", "same-3"])
    }

    @Test func aReplacementLogLeftByAnInterruptedCompactionIsRemovedAtOpen() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/spool.log.compact", String(repeating: "x", count: 4096))
        _ = try Spool(config: SpoolConfig(directory: dir), logger: quietLogger)
        #expect(access(dir + "/spool.log.compact", F_OK) != 0)
        // Read-only (inspecting a stopped host's spool) changes nothing on disk.
        writeFile(dir + "/spool.log.compact", "x")
        var ro = SpoolConfig(directory: dir)
        ro.readOnly = true
        _ = try Spool(config: ro, logger: quietLogger)
        #expect(access(dir + "/spool.log.compact", F_OK) == 0)
    }

    @Test func copiesWaitingForTheFirstWriteAreAnsweredOnceEach() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        // No writer yet: the first copy stays pending while the others arrive.
        let s = try Spool(config: SpoolConfig(directory: dir), logger: quietLogger)
        let answers = Mutex<[AdmitResult]>([])
        for _ in 0..<3 {
            s.admit(id: "x", type: "t", verifiedBy: .hmac, body: bytes("{}")) { r in answers.withLock { $0.append(r) } }
        }
        s.startWriter()
        for _ in 0..<100 where answers.withLock({ $0.count }) < 3 { usleep(10_000) }
        usleep(50_000)
        #expect(answers.withLock { $0 }.sorted { "\($0)" < "\($1)" } == [.accepted, .duplicate, .duplicate])
        #expect(s.queueDepth == 1)
    }

    @Test func idAcceptedAgainAfterTTLSurvivesRestartAsNewDelivery() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let clock = ManualClock(1000)
        let configure: (inout SpoolConfig) -> Void = { $0.retention = 10; $0.dedupTTL = 10 }
        let s = try openSpool(dir, clock: clock, configure: configure)
        #expect(admitSync(s, "x", body: #"{"type":"a","v":1}"#) == .accepted)
        let j = try #require(take(s))
        s.finish(StateChange(id: j.id, state: .done, attempt: 1, at: 1000))
        s.stopTaking(); s.stopWriter()
        clock.advance(100)
        let r = try openSpool(dir, clock: clock, configure: configure)
        #expect(admitSync(r, "x", body: #"{"type":"a","v":2}"#) == .accepted)
        r.stopTaking(); r.stopWriter()  // crash before it ran
        let q = try openSpool(dir, clock: clock, configure: configure)
        let again = try #require(take(q))
        #expect(again.id == "x" && again.attempt == 1 && again.body == bytes(#"{"type":"a","v":2}"#))
    }

    @Test func interruptedRunResumesWithNextAttempt() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "m1") == .accepted)
        let j = try #require(take(s))
        #expect(j.attempt == 1)
        s.stopWriter(); s.stopTaking()  // "crash" while running
        let r = try openSpool(dir)
        #expect(r.list(state: .retryScheduled).map(\.id) == ["m1"])
        let again = try #require(take(r))
        #expect(again.attempt == 2)
    }

    @Test func notReadySinceSurvivesARunInterruptedByAStop() throws {
        // Issue 18 (5): the host stops while the run after an exit 75 is going; recovery reads
        // that run's start record, which must still say when "not ready" began.
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let clock = ManualClock(1000)
        let s = try openSpool(dir, clock: clock)
        #expect(admitSync(s, "m1") == .accepted)
        let j = try #require(take(s))
        var later = StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 1000, nextAt: 1000, error: "exited with status 75")
        later.retryLaterSince = 990
        s.finish(later)
        let next = try #require(take(s))
        #expect(next.attempt == 2 && next.retryLaterSince == 990)
        s.stopWriter(); s.stopTaking()  // "crash" while running
        let r = try openSpool(dir, clock: clock)
        #expect(r.list().first?.retryLaterSince == 990)
        let again = try #require(take(r))
        #expect(again.attempt == 3 && again.retryLaterSince == 990)
    }

    @Test func aStartRecordWrittenBeforeNotReadySinceWasKeptStillLoads() throws {
        // Records of older hosts have no "rl": they load, not ready since unknown.
        let meta = try JSONParser.parse(bytes(#"{"k":"s","id":"m1","st":"running","a":2,"t":1000.5,"b":1}"#))
        let change = try #require(StateChange(meta: meta))
        #expect(change.state == .running && change.attempt == 2 && change.attemptBase == 1 && change.retryLaterSince == nil)
    }

    @Test func retriesWaitForTheirTimeAndSurviveRestart() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let clock = ManualClock(1000)
        let s = try openSpool(dir, clock: clock)
        #expect(admitSync(s, "m1") == .accepted)
        let j = try #require(take(s))
        s.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 1000, nextAt: 1060, error: "exited with status 75"))
        s.stopTaking(); s.stopWriter()
        let r = try openSpool(dir, clock: clock)
        let d = try #require(r.list().first)
        #expect(d.state == .retryScheduled && d.nextAt == 1060 && d.attempt == 1)
        // Not yet due: a taker gets nothing within a short wait.
        let got = Mutex<Job?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { got.withLock { $0 = take(r) }; done.signal() }
        #expect(done.wait(timeout: .now() + 0.3) == .timedOut)
        clock.advance(61)
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(got.withLock { $0?.attempt } == 2)
    }

    @Test func deadLettersReplayAndPurge() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        for id in ["a", "b"] { #expect(admitSync(s, id) == .accepted) }
        for _ in 0..<2 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .dead, attempt: j.attempt, at: 1, error: "exited with status 65"))
        }
        #expect(s.deadCount == 2 && s.queueDepth == 0)
        #expect(s.replay("a"))
        #expect(!s.replay("nope"))
        #expect(s.deadCount == 1 && s.queueDepth == 1)
        let j = try #require(take(s))
        #expect(j.id == "a" && j.attempt == 2 && j.attemptsInBudget == 1)
        #expect(s.purgeDead() == 1)
        #expect(s.list().map(\.id) == ["a"])
        #expect(admitSync(s, "b") == .duplicate)  // purged, but still remembered for dedup
        s.stopTaking(); s.stopWriter()
        let r = try openSpool(dir)
        #expect(r.list().map(\.id) == ["a"])
        #expect(r.deadCount == 0)
    }

    /// Issue 21: replay and purge by filter are each one durable write (one fdatasync, records
    /// committed together), and what they did is there after a restart.
    @Test func bulkReplayAndForgetAreOneWriteAndSurviveARestart() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        let ids = (0..<7).map { "m\($0)" }
        for id in ids { #expect(admitSync(s, id) == .accepted) }
        for _ in ids {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .dead, attempt: j.attempt, at: 1, error: "exited with status 65"))
        }
        #expect(admitSync(s, "busy") == .accepted)  // unfinished: left out of a replay
        let syncs = Mutex(0)
        s.log.setBeforeSync { syncs.withLock { $0 += 1 } }
        // Three frames of at most 2 records each in one write: the split a 64 MiB frame limit makes.
        #expect(try s.replay(Array(ids[0..<5]) + ["busy", "nope"], recordsPerFrame: 2) == 5)
        #expect(syncs.withLock { $0 } == 1)
        #expect(s.deadCount == 2 && s.queueDepth == 6)
        #expect(try s.forget(["m5", "m6", "nope"]) == 2)
        #expect(syncs.withLock { $0 } == 2)
        #expect(s.deadCount == 0)
        s.stopTaking(); s.stopWriter()

        let r = try openSpool(dir)
        #expect(Set(r.list(state: .received).map(\.id)) == Set(ids[0..<5] + ["busy"]))
        #expect(r.list(state: .received).filter { $0.id != "busy" }.allSatisfy { $0.attempt == 1 && $0.attemptBase == 1 })
        #expect(r.info("m5") == nil && r.deadCount == 0)
        #expect(admitSync(r, "m6") == .duplicate)  // purged, still remembered
        // A replayed delivery's next record lands after the batch: it runs with attempt 2.
        let j = try #require(take(r))
        #expect(j.attempt == 2 && j.attemptsInBudget == 1)
        r.stopTaking(); r.stopWriter()
    }

    @Test func retentionPrunesFinishedAndTTLForgetsIds() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let clock = ManualClock(1000)
        let configure: (inout SpoolConfig) -> Void = { $0.retention = 100; $0.dedupTTL = 1000 }
        let s = try openSpool(dir, clock: clock, configure: configure)
        #expect(admitSync(s, "done1") == .accepted)
        #expect(admitSync(s, "dead1") == .accepted)
        var j = try #require(take(s))
        s.finish(StateChange(id: j.id, state: .done, attempt: 1, at: 1000))
        j = try #require(take(s))
        s.finish(StateChange(id: j.id, state: .dead, attempt: 1, at: 1000))
        s.stopTaking(); s.stopWriter()
        clock.advance(200)
        let r = try openSpool(dir, clock: clock, configure: configure)
        #expect(r.list().map(\.id) == ["dead1"])  // dead letters are kept
        #expect(admitSync(r, "done1") == .duplicate)
        r.stopTaking(); r.stopWriter()
        clock.advance(1000)
        let q = try openSpool(dir, clock: clock, configure: configure)
        #expect(admitSync(q, "done1") == .accepted)  // past the dedup TTL
    }

    @Test func compactionKeepsLiveStateAndDropsTheRest() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let clock = ManualClock(1000)
        let configure: (inout SpoolConfig) -> Void = { $0.retention = 10 }
        let s = try openSpool(dir, clock: clock, configure: configure)
        for i in 0..<50 { #expect(admitSync(s, "m\(i)", body: #"{"type":"batch.succeeded","i":\#(i)}"#) == .accepted) }
        for _ in 0..<40 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .done, attempt: j.attempt, at: clock.now(), output: bytes(#"{"ok":1}"#)))
        }
        clock.advance(100)
        s.compact()  // the 40 done ones are past retention only after a prune; compaction keeps them until then
        let before = try #require(s.show("m45"))
        #expect(before.body == bytes(#"{"type":"batch.succeeded","i":45}"#))
        s.stopTaking(); s.stopWriter()
        let r = try openSpool(dir, clock: clock, configure: configure)
        #expect(r.queueDepth == 10)
        #expect(r.list(state: .done).isEmpty)
        #expect(admitSync(r, "m3") == .duplicate)
        r.compact()
        let j = try #require(take(r))
        #expect(j.id == "m40" && j.body == bytes(#"{"type":"batch.succeeded","i":40}"#))
        r.stopTaking(); r.stopWriter()
        let q = try openSpool(dir, clock: clock, configure: configure)
        #expect(q.queueDepth == 10)
        #expect(admitSync(q, "m3") == .duplicate)
    }

    @Test func compactionWhileDeliveriesArriveLosesNothing() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        for i in 0..<300 { #expect(admitSync(s, "old\(i)", body: #"{"type":"t","i":\#(i)}"#) == .accepted) }
        for _ in 0..<100 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .done, attempt: j.attempt, at: SystemClock().now(), output: bytes(#"{"n":1}"#)))
        }
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { s.compact(); done.signal() }
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            _ = admitSync(s, "new\(i)", body: #"{"type":"t","n":\#(i)}"#)
        }
        done.wait()
        #expect(try #require(s.show("new7")).body == bytes(#"{"type":"t","n":7}"#))
        #expect(try #require(s.show("old3")).last?.output == bytes(#"{"n":1}"#))
        s.stopTaking(); s.stopWriter()
        let r = try openSpool(dir)
        #expect(r.list().count == 500)
        #expect(r.queueDepth == 400)
        #expect(try #require(r.show("new199")).body == bytes(#"{"type":"t","n":199}"#))
        #expect(try #require(r.show("old250")).body == bytes(#"{"type":"t","i":250}"#))
        #expect(try #require(r.show("old3")).last?.output == bytes(#"{"n":1}"#))
    }

    @Test func replayBudgetSurvivesCompactionAndRestart() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "x") == .accepted)
        for _ in 0..<3 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 0, nextAt: 0))
        }
        let j3 = try #require(take(s))
        s.finish(StateChange(id: j3.id, state: .dead, attempt: j3.attempt, at: 0, error: "no attempts left"))
        #expect(s.replay("x"))
        let j5 = try #require(take(s))
        #expect(j5.attempt == 5 && j5.attemptsInBudget == 1)
        // A state record written without an explicit base (as the dispatcher does) …
        s.finish(StateChange(id: j5.id, state: .retryScheduled, attempt: j5.attempt, at: 0, nextAt: 0))
        s.compact()  // … is all that compaction keeps.
        s.stopTaking(); s.stopWriter()
        let r = try openSpool(dir)
        let j6 = try #require(take(r))
        #expect(j6.attempt == 6 && j6.attemptsInBudget == 2)
    }

    @Test func queueLimitAnswersUnavailable() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir) { $0.queueMax = 2 }
        #expect(admitSync(s, "a") == .accepted)
        #expect(admitSync(s, "b") == .accepted)
        guard case .unavailable(let why) = admitSync(s, "c") else { Issue.record("accepted over the limit"); return }
        #expect(why.contains("queue full"))
    }

    @Test func tornTailOnDiskIsIgnoredAndOverwritten() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "a") == .accepted)
        s.stopTaking(); s.stopWriter()
        // Simulate power loss mid-append: half a record at the end.
        let half = SpoolRecord.delivery(id: "b", type: "x", receivedAt: 1, verifiedBy: .hmac, body: bytes("{}")).encoded().prefix(20)
        let fd = open(dir + "/spool.log", O_WRONLY | O_APPEND)
        _ = Array(half).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let r = try openSpool(dir)
        #expect(r.list().map(\.id) == ["a"])
        #expect(admitSync(r, "c") == .accepted)
        r.stopTaking(); r.stopWriter()
        let q = try openSpool(dir)
        #expect(q.list().map(\.id) == ["a", "c"])
    }

    @Test func zerosAllocatedAheadAreNeitherDamageNorData() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "a") == .accepted)
        s.stopTaking(); s.stopWriter()
        var st = stat()
        #expect(stat(dir + "/spool.log", &st) == 0)
        let file = try SpoolFile(directory: dir)
        var records = 0
        let scan = try file.scan { _, _, _ in records += 1 }
        #expect(records == 1)
        #expect(scan.skippedBytes == 0)
        #expect(Int64(st.st_size) > scan.validEnd, "the log is allocated ahead of its records")
    }

    @Test func aFramePastTheAllocatedZerosIsRecoveredAndAppendsGoAfterIt() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "a") == .accepted)
        s.stopTaking(); s.stopWriter()
        // A whole frame past the zeros: like any valid frame after damage, it is recovered, and
        // the next append must not overwrite it.
        let ghost = SpoolRecord.delivery(id: "ghost", type: "x", receivedAt: 1, verifiedBy: .hmac, body: bytes("{}")).encoded()
        let fd = open(dir + "/spool.log", O_WRONLY | O_APPEND)
        _ = ghost.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let r = try openSpool(dir)
        #expect(Set(r.list().map(\.id)) == ["a", "ghost"])
        #expect(admitSync(r, "c") == .accepted)
        r.stopTaking(); r.stopWriter()
        let q = try openSpool(dir)
        #expect(Set(q.list().map(\.id)) == ["a", "ghost", "c"])
    }

    // `deliveries show` lists every attempt: the spool keeps the records of how attempts ended
    // (bounded), through replays, compaction and restarts.
    @Test func everyAttemptSurvivesReplayCompactionAndRestart() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "x") == .accepted)
        for _ in 0..<2 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 10, nextAt: 0, error: "exit 1", exitCode: 1, durationMs: 5))
        }
        let j3 = try #require(take(s))
        s.finish(StateChange(id: j3.id, state: .dead, attempt: j3.attempt, at: 20, error: "no attempts left", exitCode: 1))
        #expect(s.replay("x"))  // a replay record is not an attempt
        let j4 = try #require(take(s))
        // Now, not at 30: a done delivery older than the retention is pruned on the restart below.
        s.finish(StateChange(id: j4.id, state: .done, attempt: j4.attempt, at: SystemClock().now(), exitCode: 0))
        #expect(s.attempts("x").map(\.attempt) == [1, 2, 3, 4])
        s.compact()
        #expect(s.attempts("x").map(\.state) == [.retryScheduled, .retryScheduled, .dead, .done])
        s.stopTaking(); s.stopWriter()
        let r = try openSpool(dir)
        #expect(r.attempts("x").map(\.attempt) == [1, 2, 3, 4])
        #expect(r.attempts("x")[2].error == "no attempts left")
    }

    @Test func historyIsBounded() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        #expect(admitSync(s, "y") == .accepted)
        for _ in 0..<30 {
            let j = try #require(take(s))
            s.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 0, nextAt: 0))
        }
        #expect(s.attempts("y").map(\.attempt) == Array(11...30))
        let m = MemoryDeliveryStore()
        #expect(admitSync(m, "y") == .accepted)
        for _ in 0..<30 {
            let j = try #require(take(m))
            m.finish(StateChange(id: j.id, state: .retryScheduled, attempt: j.attempt, at: 0, nextAt: 0))
        }
        #expect(m.attempts("y").map(\.attempt) == Array(11...30))
    }

    // The key id and claims of a JWT delivery travel from admission through the spool to stdin.
    @Test func spoolHandsTheIdentityToTheRunAndToShow() throws {
        let dir = makeTempDir("jwtid")
        defer { FileSystem.removeTree(dir) }
        for store in [try openSpool(dir) as any DeliveryStorage, MemoryDeliveryStore()] {
            let done = Mutex<AdmitResult?>(nil)
            let sem = DispatchSemaphore(value: 0)
            store.admit(id: "j1", type: "t", verifiedBy: .jwt, jwt: sampleJWTIdentity, body: bytes(#"{"type":"t"}"#)) { r in
                done.withLock { $0 = r }; sem.signal()
            }
            sem.wait()
            #expect(done.withLock { $0 } == .accepted)
            #expect(store.show("j1")?.jwt == sampleJWTIdentity)
            let job = try #require(take(store))
            #expect(job.verifiedBy == .jwt && job.jwt == sampleJWTIdentity)
            if let s = store as? Spool { s.stopWriter() }
        }
    }

    @Test func aReadOnlySpoolReadsWhatIsThereAndCreatesNothing() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        var config = SpoolConfig(directory: dir)
        config.readOnly = true
        #expect(throws: SpoolError.self) { try Spool(config: config, logger: quietLogger) }
        #expect(access(dir + "/spool.log", F_OK) != 0, "a read-only open created the log")

        let s = try openSpool(dir)
        #expect(admitSync(s, "m1") == .accepted)
        s.stopWriter(); s.stopTaking()
        let log = dir + "/spool.log"
        var before = stat()
        stat(log, &before)
        let r = try Spool(config: config, logger: quietLogger)
        #expect(r.list().map(\.id) == ["m1"])
        #expect(r.show("m1") != nil)
        var after = stat()
        stat(log, &after)
        #expect(after.st_size == before.st_size)
    }

    /// Compactions racing admissions, state changes and reads: the writer tells the index where
    /// records landed after releasing the file lock, and reads take no file lock. Every
    /// acknowledged record stays readable with its own bytes, during the race, after it and
    /// after a restart.
    @Test func compactionRacingAppendsAndReadsLosesNothing() throws {
        let dir = makeTempDir("spool")
        defer { FileSystem.removeTree(dir) }
        let s = try openSpool(dir)
        let total = 600, compactions = 6
        @Sendable func body(_ i: Int) -> [UInt8] { bytes(#"{"type":"t","i":\#(i),"pad":"\#(String(repeating: "x", count: i % 97))"}"#) }
        @Sendable func number(_ id: String) -> Int { Int(id.dropFirst())! }
        let accepted = Mutex<[Int]>([]), outputs = Mutex<[String: [UInt8]]>([:]), problems = Mutex<Set<String>>([])
        let stopReading = Mutex(false)

        let appenders = (0..<2).map { k in
            startThread(name: "test-admit-\(k)") {
                for i in stride(from: k, to: total, by: 2) {
                    let r = admitSync(s, "d\(i)", body: String(decoding: body(i), as: UTF8.self))
                    if r == .accepted { accepted.withLock { $0.append(i) } } else { problems.withLock { _ = $0.insert("d\(i): \(r)") } }
                }
            }
        }
        // Runs half of the deliveries, finishing them alternately with and without waiting for the disk.
        let worker = startThread(name: "test-worker") {
            for n in 0..<(total / 2) {
                guard let j = take(s) else { return }
                if j.body != body(number(j.id)) { problems.withLock { _ = $0.insert("\(j.id): the run got other bytes") } }
                let output = bytes(#"{"ran":"\#(j.id)"}"#)
                s.finish(StateChange(id: j.id, state: .done, attempt: j.attempt, at: SystemClock().now(), output: output), n % 2 == 0 ? .durable : .lazy)
                outputs.withLock { $0[j.id] = output }
            }
        }
        let reader = startThread(name: "test-reader") {
            var k = 0
            for _ in 0..<1_000_000 where !stopReading.withLock({ $0 }) {
                let seen = accepted.withLock { $0 }
                guard !seen.isEmpty else { usleep(1_000); continue }
                let i = seen[k % seen.count]
                k += 1
                if s.show("d\(i)")?.body != body(i) { problems.withLock { _ = $0.insert("d\(i): read other bytes") } }
            }
        }
        // Each compaction once more deliveries are in, so they fall among the admissions whatever the speed.
        let compactor = startThread(name: "test-compact") {
            for c in 1...compactions {
                _ = eventually(1_000) { accepted.withLock { $0.count } >= c * total / (compactions + 1) }
                s.compact()
            }
        }
        for t in appenders { t.join() }
        compactor.join()
        if !worker.join(until: monotonicNow() + 60) {
            problems.withLock { _ = $0.insert("the worker did not get its deliveries") }
            s.stopTaking()
            worker.join()
        }
        stopReading.withLock { $0 = true }
        reader.join()
        s.stopTaking(); s.stopWriter()
        #expect(problems.withLock { $0.sorted() } == [])

        let ids = accepted.withLock { $0 }, ran = outputs.withLock { $0 }
        #expect(ids.count == total && ran.count == total / 2)
        for store in [s, try openSpool(dir)] {
            #expect(store.list().count == total)
            for i in ids where store.show("d\(i)")?.body != body(i) { Issue.record("d\(i): body lost or misplaced") }
            for (id, output) in ran where store.show(id)?.last?.output != output { Issue.record("\(id): last state lost or misplaced") }
            if store !== s { store.stopTaking(); store.stopWriter() }
        }
    }
}

@Suite struct ShardedDictionaryTests {
    @Test func behavesLikeADictionaryAndShrinksAfterExpiry() {
        var d = ShardedDictionary<Int>(shardCount: 4)
        for i in 0..<1000 { d["k\(i)"] = i }
        d["k1"] = 100
        #expect(d.count == 1000)
        #expect(d["k1"] == 100 && d["k999"] == 999 && d["nope"] == nil)
        #expect(d.removeValue(forKey: "k2") == 2 && d.removeValue(forKey: "k2") == nil)
        d["k3"] = nil
        #expect(d.count == 998)
        d.removeAll { key, v in v >= 10 && key != "k1" }
        #expect(d.count == 8)
        #expect(Set(d.pairs.map(\.key)) == Set(["k0", "k1", "k4", "k5", "k6", "k7", "k8", "k9"]))
        let sum: Int = d.values.reduce(0, +)
        #expect(sum == 139)
    }
}

/// Tests take due deliveries as the dispatcher's workers do: from a `WorkQueue` the store feeds.
/// One queue per store, kept (with the store) for the test process's life.
private let testQueues = Mutex<[(store: AnyObject, queue: WorkQueue)]>([])

extension DeliveryStore {
    /// The work queue this store feeds in tests (attached on first use).
    var testQueue: WorkQueue {
        testQueues.withLock { list in
            if let q = list.first(where: { $0.store === self })?.queue { return q }
            let q = WorkQueue(clock: clock)
            list.append((self, q))
            feed(into: q)
            return q
        }
    }

    /// Blocks until a delivery is due and returns it (it is no longer queued); nil after `stopTaking()`.
    func nextDue() -> DeliveryInfo? {
        let q = testQueue
        while let id = q.next() {
            if let d = info(id), d.isDue(now: clock.now()) { return d }
        }
        return nil
    }

    /// Makes `nextDue` return nil.
    func stopTaking() { testQueues.withLock { $0.first(where: { $0.store === self })?.queue }?.stop() }
}
