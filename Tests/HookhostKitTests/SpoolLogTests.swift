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

/// Housekeeping (pruning, the compaction check) walks the whole index: it runs on a thread of its
/// own, so appends and their fsyncs — the acknowledgements — go on while it does.
@Suite struct SpoolLogTests {
    @Test func appendsAreDurableWhileHousekeepingRuns() throws {
        let dir = makeTempDir("keeper")
        defer { FileSystem.removeTree(dir) }
        let log = try SpoolLog(directory: dir, minFreeBytes: 0, logger: quietLogger)
        let entered = Mutex(false), release = Mutex(false), returned = Mutex(false)
        log.start(housekeepingEvery: 0.01) {
            entered.withLock { $0 = true }
            for _ in 0..<2_000 where !release.withLock({ $0 }) { usleep(5_000) }  // bounded: 10 s
            returned.withLock { $0 = true }
        }
        defer { release.withLock { $0 = true }; log.stop() }
        #expect(eventually(400) { entered.withLock { $0 } }, "housekeeping never ran")
        // Housekeeping is now stuck; with it on the writer thread this append would wait for it.
        let r = log.appendSync(SpoolRecord.noop.encoded())
        #expect(!returned.withLock { $0 }, "the append was durable only once housekeeping had returned")
        if case .failure(let e) = r { Issue.record("append failed: \(e)") }
    }

    /// A read (a worker's body, `show`) needs no fdatasync: it must not wait behind the one in
    /// progress, which carries other records.
    @Test func aReadDoesNotWaitForAnFdatasyncInProgress() throws {
        let dir = makeTempDir("syncread")
        defer { FileSystem.removeTree(dir) }
        let log = try SpoolLog(directory: dir, minFreeBytes: 0, logger: quietLogger)
        let armed = Mutex(false), syncing = Mutex(false), release = Mutex(false)
        log.setBeforeSync {
            guard armed.withLock({ $0 }) else { return }
            syncing.withLock { $0 = true }
            for _ in 0..<2_000 where !release.withLock({ $0 }) { usleep(5_000) }  // bounded: 10 s
        }
        log.start {}
        defer { release.withLock { $0 = true }; log.stop() }
        guard case .success(let ref) = log.appendSync(bytes("the first record")) else {
            Issue.record("the first append failed")
            return
        }
        armed.withLock { $0 = true }
        log.append(bytes("the second record")) { _ in }
        #expect(eventually(500) { syncing.withLock { $0 } }, "the second append never reached its fdatasync")
        // The writer now holds its fdatasync; a read of the first record must not wait for it.
        let read = Mutex<[UInt8]?>(nil)
        let reader = startThread(name: "test-reader") {
            let r = try? log.read { ref }
            read.withLock { $0 = r }
        }
        #expect(eventually(500) { read.withLock { $0 } != nil }, "the read waited for the fdatasync in progress")
        #expect(!release.withLock { $0 })
        release.withLock { $0 = true }
        reader.join()
        #expect(read.withLock { $0 } == bytes("the first record"))
    }
}
