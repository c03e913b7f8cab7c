import Dispatch
import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// The spool's log file behind one writer thread: appends from any thread are batched into one
/// write + fdatasync (group commit). The writer only writes: for each durable record `placed`
/// (the index learns its position) and then `done` run after the file lock is released — on the
/// writer itself for `inline` appends (short: open a gate, hand an answer to its owner's loop),
/// else on the completion thread, so a long one cannot stall the next fsync. Compaction, which
/// must see every record below its cut in the index, waits for the placing in progress instead.
/// Reads never wait for an fdatasync: they take only the swap lock, which compaction's final
/// step holds to change the descriptor and the positions together.
final class SpoolLog: @unchecked Sendable {  // safe: `file`'s appends and size are guarded by `io`, its descriptor by `io` and `swap` (reads share `swap`); `placing` by `placement`, the queue and flags by `writer`, completions by `completions`
    typealias Placed = @Sendable (SpoolRef) -> Void
    typealias Done = @Sendable (Result<SpoolRef, SpoolError>) -> Void
    private struct Append {
        let bytes: [UInt8]
        let placed: Placed?
        let done: Done
        /// `done` only opens a gate or updates the index: the writer runs it itself, sparing the
        /// waiting thread a second hand-off through the completion thread.
        let inline: Bool
    }

    /// Held across each append's write + fdatasync, and by compaction's snapshot and install.
    private let io = Monitor()
    /// Reads hold it shared; `install` exclusively while it swaps the file and remaps positions.
    private let swap = ReadWriteLock()
    /// Whether the writer is telling the index where the last batch landed (after releasing
    /// `io`): the index does not know those records yet.
    private let placement = Monitor()
    private var placing = false
    private let file: SpoolFile
    private let writer = Monitor()
    private var queue: [Append] = []
    /// Queued appends someone waits for; while there are none, queued lazy ones wait for company.
    private var urgent = 0
    /// How long a lazy append may wait for an urgent one to share its fdatasync.
    static let lazyDelay = 0.02
    private var stopping = false
    private let writerThread = Mutex<ThreadHandle?>(nil)
    /// Wakes the housekeeping thread every second (and at stop).
    /// Housekeeping: looks every second whether it is due (every `interval`, every 2 s while the log fails).
    private let keeper = Mutex<BackgroundLoop?>(nil)
    private var healthy = true
    private let completions = CompletionQueue()
    private let logger: Logger
    /// Free bytes the filesystem must have before a failed log counts as writable again.
    private let minFreeBytes: Int64

    var path: String { file.path }
    var replacementPath: String { file.replacementPath }

    init(directory: String, minFreeBytes: Int64, readOnly: Bool = false, logger: Logger) throws(SpoolError) {
        file = try SpoolFile(directory: directory, readOnly: readOnly)
        self.minFreeBytes = minFreeBytes
        self.logger = logger
    }

    /// Reads every valid record (before the writer starts).
    func scan(_ visit: (Int64, Int, SpoolRecord) -> Void) throws(SpoolError) -> SpoolScan { try io.locked { () throws(SpoolError) in try file.scan(visit) } }

    // MARK: - Appending

    /// Queues a record; `placed` and then `done` run once it is durable (`done` alone once it
    /// failed), both on the writer, after the file lock is released. A `lazy` record (nobody
    /// waits for it) is written with the next urgent batch or within `lazyDelay`: every fdatasync
    /// costs the same whatever it carries, and one spent on bookkeeping alone delays the
    /// acknowledgements queued behind it.
    func append(_ bytes: [UInt8], placed: Placed? = nil, lazy: Bool = false, inline: Bool = false, done: @escaping Done) {
        writer.locked {
            queue.append(Append(bytes: bytes, placed: placed, done: done, inline: inline))
            if !lazy { urgent += 1 }
            if (!lazy && urgent == 1) || queue.count == 1 { writer.broadcast() }
        }
    }

    /// Appends a record and waits until it is durable (not from the writer or completion thread);
    /// `placed` as in `append`.
    func appendSync(_ bytes: [UInt8], placed: Placed? = nil) -> Result<SpoolRef, SpoolError> {
        let sem = DispatchSemaphore(value: 0)
        let box = Mutex<Result<SpoolRef, SpoolError>?>(nil)
        append(bytes, placed: placed, inline: true) { r in box.withLock { $0 = r }; sem.signal() }
        sem.wait()
        return box.withLock { $0! }
    }

    /// Starts the writer, completion and housekeeping threads; `housekeeping` runs every 30 s
    /// (every 2 s while the log is failing, after a probe), on a thread of its own: on the writer,
    /// its walk over a large index held up every fsync (16 ms of stalled acks at 360k deliveries).
    /// Returns whether the writer runs at raised priority: every 202 waits for this one thread,
    /// and measured here, a writer that must queue for a CPU behind the HTTP threads halves throughput.
    @discardableResult
    func start(housekeepingEvery interval: Double = 30, housekeeping: @escaping @Sendable () -> Void) -> Bool {
        completions.start()
        let last = Mutex<Double>(monotonicNow())
        let keeper = BackgroundLoop(name: "spool-keeper", nice: 5, every: { 1 }) { [self] _ in
            let now = monotonicNow(), isHealthy = isWritable
            guard now - last.withLock({ $0 }) >= (isHealthy ? interval : min(interval, 2)) else { return }
            last.withLock { $0 = now }
            if !isHealthy { probe() }
            housekeeping()
        }
        self.keeper.withLock { $0 = keeper }
        keeper.start()
        let sem = DispatchSemaphore(value: 0)
        let boosted = Atomic<Bool>(false)
        let thread = startThread(name: "spool-writer") { [self] in
            boosted.store(setCurrentThreadNice(-10), ordering: .relaxed)
            sem.signal()
            writerLoop()
        }
        writerThread.withLock { $0 = thread }
        sem.wait()
        return boosted.load(ordering: .relaxed)
    }

    /// Stops housekeeping and joins its thread (compaction starts from housekeeping).
    func stopHousekeeping() { keeper.withLock { $0 }?.stop() }

    /// Stops housekeeping, writes what is queued, then stops the writer and completion threads;
    /// joins all three.
    func stop() {
        keeper.withLock { $0 }?.stop()
        writer.locked {
            stopping = true
            writer.broadcast()
        }
        writerThread.withLock { $0.take() }?.join()
        completions.stopAndWait()
    }

    private func writerLoop() {
        while true {
            let (batch, stop) = writer.locked { () -> ([Append], Bool) in
                if queue.isEmpty && !stopping { writer.wait(seconds: 1) }
                if urgent == 0 && !queue.isEmpty && !stopping { writer.wait(seconds: SpoolLog.lazyDelay) }
                let b = queue
                queue.removeAll(keepingCapacity: true)
                urgent = 0
                return (b, stopping)
            }
            if !batch.isEmpty { commit(batch) }
            if stop && batch.isEmpty { return }
        }
    }

    private func commit(_ batch: [Append]) {
        var all: [UInt8] = []
        all.reserveCapacity(batch.reduce(0) { $0 + $1.bytes.count })
        for item in batch { all += item.bytes }
        let result: Result<Int64, SpoolError> = io.locked {
            do throws(SpoolError) {
                let start = try file.append(all)
                // Before `io` is released: compaction, which takes `io` next, must wait until the
                // index knows these records.
                placement.locked { placing = true }
                return .success(start)
            } catch { return .failure(error) }
        }
        switch result {
        case .success(let start):
            // The index learns the positions outside `io`: the board's lock is taken by every
            // admission and worker, and holding the file lock meanwhile made reads and compaction
            // wait for them too.
            var offset = start
            var refs: [SpoolRef] = []
            refs.reserveCapacity(batch.count)
            for item in batch {
                let ref = SpoolRef(offset: offset, length: item.bytes.count)
                item.placed?(ref)
                refs.append(ref)
                offset += Int64(item.bytes.count)
            }
            placement.locked {
                placing = false
                placement.broadcast()
            }
            // Success does not by itself clear a disk fault: a small record may still fit into
            // space the file already had. The probe decides (free space + write).
            for (item, ref) in zip(batch, refs) where item.inline { item.done(.success(ref)) }
            completions.enqueue(zip(batch, refs).filter { !$0.0.inline }.map { item, ref in { item.done(.success(ref)) } })
        case .failure(let e):
            if setHealthy(false) {
                logger.error("spool: cannot persist deliveries; answering 503 until it recovers", ["error": .string(e.description)])
            }
            for item in batch where item.inline { item.done(.failure(e)) }
            completions.enqueue(batch.filter { !$0.inline }.map { item in { item.done(.failure(e)) } })
        }
    }

    // MARK: - Health

    /// False from a failed write until a probe finds space and writes again.
    var isWritable: Bool { writer.locked { healthy } }

    @discardableResult
    private func setHealthy(_ ok: Bool) -> Bool {
        let changed = writer.locked { () -> Bool in
            let c = healthy != ok
            healthy = ok
            return c
        }
        if changed && ok { logger.info("spool: writable again") }
        return changed
    }

    private func probe() {
        var st = statvfs()
        guard statvfs(file.directory, &st) == 0 else { return }
        let free = Int64(st.f_bavail) * Int64(st.f_frsize)
        let total = Int64(st.f_blocks) * Int64(st.f_frsize)
        guard free >= min(minFreeBytes, total / 4) else { return }
        let ok = io.locked { () -> Bool in (try? file.append(SpoolRecord.noop.encoded())) != nil }
        if ok { setHealthy(true) }
    }

    // MARK: - Reading

    /// The bytes of one record. `current` re-resolves the position under the swap lock: a
    /// compaction may have moved the record since the caller looked it up. No wait for an
    /// fdatasync in progress: a position the index knows was written and synced before it
    /// learned it.
    func read(_ current: () -> SpoolRef?) throws(SpoolError) -> [UInt8] {
        try swap.reading { () throws(SpoolError) -> [UInt8] in
            guard let ref = current() else { throw SpoolError("read", path: file.path, code: ENOENT) }
            return try file.read(at: ref.offset, count: ref.length)
        }
    }

    /// Reads several records at once, under one hold of the swap lock so compaction cannot move
    /// them in between.
    func readAll(_ current: () -> [SpoolRef]) throws(SpoolError) -> [[UInt8]] {
        try swap.reading { () throws(SpoolError) -> [[UInt8]] in
            var out: [[UInt8]] = []
            for ref in current() { out.append(try file.read(at: ref.offset, count: ref.length)) }
            return out
        }
    }

    // MARK: - Compaction support

    /// Where the log ends now; runs `body` under the file lock (so nothing is appended meanwhile)
    /// once the index knows where every record before that end is.
    func atEnd<T>(_ body: (Int64) -> T) -> T {
        io.locked {
            awaitPlacement()
            return body(file.size)
        }
    }

    /// Under `io`: waits until the writer has placed its last batch. It places without `io`, and
    /// with `io` held no new batch can start, so this ends.
    private func awaitPlacement() {
        placement.locked { while placing { placement.wait(seconds: 1) } }
    }

    /// Reads below a position seen through `atEnd`: those bytes never change and only `install`
    /// swaps the descriptor, so no lock is needed.
    func readStable(at offset: Int64, count: Int) throws(SpoolError) -> [UInt8] { try file.read(at: offset, count: count) }

    func beginReplacement() throws(SpoolError) -> SpoolReplacement { try file.beginReplacement() }

    /// Holding the file lock, once every record is placed: copies what was appended after
    /// `copied` into `out` and syncs it; then, holding the swap lock too (reads wait only for the
    /// rename and the remapping, never for a sync), installs it as the log and lets `remap` move
    /// index positions.
    func install(_ out: SpoolReplacement, tailFrom copied: Int64, remap: () -> Void) throws(SpoolError) {
        try io.locked { () throws(SpoolError) in
            awaitPlacement()
            let rest = Int(file.size - copied)
            if rest > 0 { _ = try out.append(try file.read(at: copied, count: rest)) }
            try out.sync()
            try swap.writing { () throws(SpoolError) in
                try file.install(out)
                remap()
            }
            // Still under `io`: nothing is appended to the new file before its name is durable.
            do throws(SpoolError) { try file.syncDirectory() } catch {
                logger.warn("spool: compacted log installed but the directory fsync failed", ["error": .string(error.description)])
            }
        }
    }

    /// Test seam: `hook` runs on the writer just before each fdatasync.
    func setBeforeSync(_ hook: @escaping @Sendable () -> Void) { io.locked { file.beforeSync = hook } }
}
