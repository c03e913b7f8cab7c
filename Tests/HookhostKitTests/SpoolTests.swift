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

@Suite struct SpoolRecordTests {
    @Test func roundTripsEveryKind() {
        var change = StateChange(id: "a", state: .retryScheduled, attempt: 2, at: 10.5, nextAt: 20, error: "exited with status 1",
                                 function: "batch", exitCode: 1, durationMs: 7, output: bytes(#"{"x":[1,2]}"#), stderrTail: "tail\n")
        change.attemptBase = 1
        let records: [SpoolRecord] = [
            .delivery(id: "a", type: "batch.succeeded", receivedAt: 1.25, verifiedBy: .hmac, body: bytes("{\"type\":\"x\"}\n\0\u{1}")),
            .state(change), .seen(id: "b", at: 3), .forget(id: "c"), .noop,
        ]
        let image = records.flatMap { $0.encoded() }
        let scan = SpoolScanner.scan(image)
        #expect(scan.records.map(\.record) == records)
        #expect(scan.skippedBytes == 0)
        #expect(scan.validEnd == Int64(image.count))
    }

    /// The meta of an encoded frame and its body, as `decode` splits them.
    static func metaAndBody(_ r: SpoolRecord) -> (ArraySlice<UInt8>, [UInt8]) {
        let f = r.encoded()
        let payload = f[SpoolRecord.headerSize...]
        let metaLen = Int(readLE(payload, at: payload.startIndex))
        let metaStart = payload.startIndex + 4
        return (payload[metaStart..<(metaStart + metaLen)], Array(payload[(metaStart + metaLen)...]))
    }

    @Test func commonKindsAreReadWithoutTheParserAndAgreeWithIt() {
        let jwt = JWTIdentity(keyID: "k1", claims: bytes(#"{"sub":"x","n":[1,2]}"#))
        let plain: [SpoolRecord] = [
            .seen(id: "a", at: 1733100000.123456), .seen(id: "e\u{301}-ü-🙂", at: 0.5), .seen(id: "x", at: 1e21),
            .delivery(id: "d1", type: "batch.succeeded", receivedAt: 1733100000.25, verifiedBy: .hmac, body: bytes("{}")),
            .delivery(id: "d2", type: "video.generated", receivedAt: 2, verifiedBy: .jwt, body: bytes(#"{"a":1}"#), jwt: jwt),
        ]
        for r in plain {
            let (meta, body) = Self.metaAndBody(r)
            #expect(SpoolRecord.decodeCommon(meta: meta, body: body, bodies: true) == r)
            #expect(SpoolScanner.scan(r.encoded()).records.map(\.record) == [r])
        }
        // Escapes, control characters and other kinds go to the parser, which still reads them.
        let others: [SpoolRecord] = [.seen(id: "quo\"te", at: 1), .seen(id: "back\\slash", at: 1), .seen(id: "tab\t", at: 1),
                                     .delivery(id: "n\nl", type: "t", receivedAt: 1, verifiedBy: .hmac, body: []),
                                     .forget(id: "a"), .noop, .state(StateChange(id: "a", state: .done, attempt: 1, at: 3))]
        for r in others {
            let (meta, body) = Self.metaAndBody(r)
            #expect(SpoolRecord.decodeCommon(meta: meta, body: body, bodies: true) == nil)
            #expect(SpoolScanner.scan(r.encoded()).records.map(\.record) == [r])
        }
    }

    @Test func metaNumbersFollowJSONGrammar() {
        for (text, want) in [("0", 0.0), ("-0", -0.0), ("12.5", 12.5), ("1e3", 1000), ("1E+2", 100), ("2.5e-1", 0.25)] as [(String, Double)] {
            var c = MetaCursor(ArraySlice(Array(text.utf8)))
            #expect(c.number() == want, "\(text)")
            #expect(c.atEnd)
        }
        for text in ["+5", ".5", "01", "1.", "1e", "-", "e5", "1.e3"] {
            var c = MetaCursor(ArraySlice(Array(text.utf8)))
            let n = c.number()
            #expect(n == nil || !c.atEnd, "\(text) must not read as a whole number")
        }
    }

    @Test func crc32cHardwareAndTableAgree() {
        #expect(CRC32C.checksum(bytes("123456789")) == 0xE306_9283)  // the standard check value
        #expect(CRC32C.tableChecksum(bytes("123456789")) == 0xE306_9283)
        var g = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &g) }
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 299] {
            for start in [0, 1, 3] where start + n <= data.count {
                let slice = data[start..<(start + n)]
                let seed = UInt32.random(in: 0...UInt32.max, using: &g)
                #expect(CRC32C.checksum(slice, seed: seed) == CRC32C.tableChecksum(slice, seed: seed))
                #expect(CRC32C.checksum(Array(slice)) == CRC32C.tableChecksum(slice))
            }
        }
    }

    @Test func tornTailIsIgnored() {
        let a = SpoolRecord.seen(id: "a", at: 1).encoded(), b = SpoolRecord.seen(id: "b", at: 2).encoded()
        for cut in 1..<b.count {
            let scan = SpoolScanner.scan(a + b.prefix(cut))
            #expect(scan.records.map(\.record) == [.seen(id: "a", at: 1)])
            #expect(scan.validEnd == Int64(a.count))
        }
    }

    @Test func corruptRecordInTheMiddleDoesNotHideLaterOnes() {
        let a = SpoolRecord.seen(id: "a", at: 1).encoded()
        var b = SpoolRecord.seen(id: "b", at: 2).encoded()
        let c = SpoolRecord.seen(id: "c", at: 3).encoded()
        b[b.count - 3] ^= 0xFF
        let scan = SpoolScanner.scan(a + b + c)
        #expect(scan.records.map(\.record) == [.seen(id: "a", at: 1), .seen(id: "c", at: 3)])
        #expect(scan.skippedBytes == b.count)
    }
}

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
        let ids = scan.records.compactMap { r -> String? in if case .delivery(let id, _, _, _, _, _) = r.record { return id }; return nil }
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
