import CSys
import Dispatch
import Glibc
import Synchronization

/// Spool settings; each maps to a HOOKHOST_ variable.
public struct SpoolConfig: Sendable {
    public var directory: String
    /// Seconds a webhook-id is remembered for dedup.
    public var dedupTTL: Double = 259_200
    /// Seconds finished (done/skipped) deliveries stay inspectable.
    public var retention: Double = 86_400
    /// Unfinished deliveries before new ones are refused.
    public var queueMax = 100_000
    /// The log is compacted once it is larger than this and more than twice what is still live.
    public var compactMinBytes: Int64 = 64 << 20
    /// After a failed write, the spool counts as writable again only once the filesystem has at
    /// least this much free space (capped at a quarter of a small filesystem) and a probe write
    /// succeeds. About one maximal delivery.
    public var minFreeBytes: Int64 = (1 << 20) + (64 << 10)
    public init(directory: String) { self.directory = directory }
}

/// The answer to a new delivery.
public enum AdmitResult: Sendable, Equatable {
    /// Durable on disk.
    case accepted
    /// The id was seen before (and its first copy is durable).
    case duplicate
    /// Could not be stored; the message says why (disk fault, queue full).
    case unavailable(String)
}

/// A delivery handed to a worker: everything needed to run its handler.
public struct Job: Sendable {
    public let id: String
    public let type: String
    public let receivedAt: Double
    public let verifiedBy: VerifiedBy
    public let attempt: Int
    /// Attempts made in the current budget (this one included).
    public let attemptsInBudget: Int
    public let body: [UInt8]
}

/// The durable delivery store: group-committed append-only log, in-memory index, dedup, and the
/// run queue. Everything acknowledged is on disk before `admit` reports `.accepted`.
public final class Spool: @unchecked Sendable {  // safe: all mutable state is guarded by `monitor`, file I/O by `io`
    public let config: SpoolConfig
    private let clock: any WallClock
    private let logger: Logger
    private let monitor = Monitor()
    private let io = Monitor()
    private let writer = Monitor()
    private let file: SpoolFile

    // Guarded by `monitor`.
    private var deliveries = ShardedDictionary<DeliveryInfo>()
    private var seen = ShardedDictionary<Double>()
    private var pending: [String: [@Sendable (AdmitResult) -> Void]] = [:]
    private var ready = ReadyQueue()
    private var timers = TimerHeap()
    private var unfinished = 0
    private var dead = 0
    private var stopped = false
    private var parked: [String] = []
    /// One shared String per distinct event type, so a million deliveries don't hold a million copies.
    private var typeNames: Set<String> = []
    private let compacting = Atomic<Bool>(false)

    // Guarded by `writer`.
    private var writeQueue: [(bytes: [UInt8], done: @Sendable (Result<Int64, SpoolError>) -> Void)] = []
    private var writerStopped = false
    private var healthy = true

    /// Opens (creating) the spool in `config.directory` and rebuilds the index from the log.
    public init(config: SpoolConfig, clock: any WallClock = SystemClock(), logger: Logger) throws(SpoolError) {
        self.config = config
        self.clock = clock
        self.logger = logger
        file = try SpoolFile(directory: config.directory)
        let scan = try file.scan()
        if scan.skippedBytes > 0 {
            logger.warn("spool: skipped damaged or torn bytes", ["bytes": .int(scan.skippedBytes), "file": .string(file.path)])
        }
        rebuild(from: scan)
    }

    // MARK: - Recovery

    private func rebuild(from scan: SpoolScan) {
        for (offset, length, record) in scan.records {
            let ref = SpoolRef(offset: offset, length: length)
            switch record {
            case .delivery(let id, let type, let at, let vb, _):
                // A later record for the same id is a new delivery accepted after the old one's
                // dedup TTL ran out: it replaces the old one entirely.
                let type = typeNames.insert(type).memberAfterInsert
                deliveries[id] = DeliveryInfo(id: id, type: type, receivedAt: at, verifiedBy: vb, updatedAt: at, body: ref)
                seen[id] = max(seen[id] ?? 0, at)
            case .state(let change):
                guard var d = deliveries[change.id] else { continue }
                d.apply(change)
                d.lastState = ref
                deliveries[change.id] = d
            case .seen(let id, let at):
                seen[id] = max(seen[id] ?? 0, at)
            case .forget(let id):
                deliveries[id] = nil
            case .noop:
                break
            }
        }
        let now = clock.now()
        var resumed = 0
        for (id, var d) in deliveries.pairs {
            if d.state == .running {
                // The host died while the handler ran: run it again with attempt + 1.
                d.state = .retryScheduled
                d.nextAt = now
                d.lastError = "interrupted: host stopped while the handler was running"
                deliveries[id] = d
                resumed += 1
            }
        }
        prune(now: now)
        let order = deliveries.values.filter { $0.state.isUnfinished }.sorted(by: Spool.arrivalOrder)
        for d in order {
            if d.state == .retryScheduled { timers.push(d.nextAt ?? now, d.id) } else { ready.push(d.id) }
        }
        unfinished = order.count
        dead = deliveries.values.filter { $0.state == .dead }.count
        logger.info("spool: recovered", ["deliveries": .int(deliveries.count), "unfinished": .int(unfinished),
                                         "interrupted": .int(resumed), "dead": .int(dead), "remembered_ids": .int(seen.count)])
    }

    /// Drops finished deliveries past retention and dedup ids past their TTL; returns how many
    /// entries went. Caller holds `monitor`.
    @discardableResult
    private func prune(now: Double) -> Int {
        let before = deliveries.count + seen.count
        deliveries.removeAll { _, d in (d.state == .done || d.state == .skipped) && d.updatedAt < now - config.retention }
        let live = deliveries
        seen.removeAll { id, at in at < now - config.dedupTTL && live[id] == nil }
        return before - deliveries.count - seen.count
    }

    /// Oldest first; the log position breaks ties between equal timestamps.
    static func arrivalOrder(_ a: DeliveryInfo, _ b: DeliveryInfo) -> Bool {
        (a.receivedAt, a.body.offset) < (b.receivedAt, b.body.offset)
    }

    // MARK: - Intake

    /// Stores a new delivery durably, or reports it as a duplicate; `completion` runs once, on
    /// the writer thread or inline.
    public func admit(id: String, type: String, verifiedBy: VerifiedBy, body: [UInt8],
                      completion: @escaping @Sendable (AdmitResult) -> Void) {
        let now = clock.now()
        enum Decision { case answer(AdmitResult), waitForFirstCopy, write }
        let decision: Decision = monitor.locked {
            if pending[id] != nil {
                // Same id still being written: answer when (and as) the first copy lands.
                pending[id]!.append { r in completion(r == .accepted ? .duplicate : r) }
                return .waitForFirstCopy
            }
            if seen[id] != nil { return .answer(.duplicate) }
            if unfinished + pending.count >= config.queueMax {
                return .answer(.unavailable("queue full (\(config.queueMax) unfinished deliveries)"))
            }
            pending[id] = []
            return .write
        }
        switch decision {
        case .answer(let r): return completion(r)
        case .waitForFirstCopy: return
        case .write: break
        }
        let record = SpoolRecord.delivery(id: id, type: type, receivedAt: now, verifiedBy: verifiedBy, body: body).encoded()
        enqueueWrite(record) { [self] result in
            let (waiters, outcome): ([@Sendable (AdmitResult) -> Void], AdmitResult) = monitor.locked {
                let waiters = pending.removeValue(forKey: id) ?? []
                switch result {
                case .success(let offset):
                    let type = typeNames.insert(type).memberAfterInsert
                    deliveries[id] = DeliveryInfo(id: id, type: type, receivedAt: now, verifiedBy: verifiedBy, updatedAt: now,
                                                  body: SpoolRef(offset: offset, length: record.count))
                    seen[id] = now
                    unfinished += 1
                    ready.push(id)
                    monitor.signal()
                    return (waiters, .accepted)
                case .failure(let e):
                    return (waiters, .unavailable("spool cannot persist: \(e)"))
                }
            }
            completion(outcome)
            for w in waiters { w(outcome) }
        }
    }

    // MARK: - Group commit

    private func enqueueWrite(_ bytes: [UInt8], _ done: @escaping @Sendable (Result<Int64, SpoolError>) -> Void) {
        writer.locked {
            writeQueue.append((bytes, done))
            if writeQueue.count == 1 { writer.signal() }
        }
    }

    /// Appends a record and waits until it is durable.
    @discardableResult
    func appendSync(_ record: SpoolRecord) -> Result<SpoolRef, SpoolError> {
        let bytes = record.encoded()
        let sem = DispatchSemaphore(value: 0)
        let box = ResultBox()
        enqueueWrite(bytes) { r in box.set(r.map { SpoolRef(offset: $0, length: bytes.count) }); sem.signal() }
        sem.wait()
        return box.get()
    }

    /// Starts the writer thread that batches appends into one write + fdatasync. Returns whether
    /// it runs at raised priority: every 202 waits for this one thread, and measured here, a
    /// writer that must queue for a CPU behind the HTTP threads halves throughput and multiplies
    /// p99 latency.
    @discardableResult
    public func startWriter() -> Bool {
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
    /// The writer thread, joined by `stopWriter`.
    private let writerThread = Mutex<ThreadHandle?>(nil)

    private func writerLoop() {
        var lastHousekeeping = monotonicNow()
        while true {
            let (batch, stop, isHealthy) = writer.locked { () -> ([(bytes: [UInt8], done: @Sendable (Result<Int64, SpoolError>) -> Void)], Bool, Bool) in
                if writeQueue.isEmpty && !writerStopped { writer.wait(seconds: 1) }
                let b = writeQueue
                writeQueue.removeAll(keepingCapacity: true)
                return (b, writerStopped, healthy)
            }
            if !batch.isEmpty { commit(batch) }
            if stop && batch.isEmpty { return }
            let now = monotonicNow()
            if now - lastHousekeeping >= (isHealthy ? 30 : 2) {
                lastHousekeeping = now
                housekeeping(probe: !isHealthy)
            }
        }
    }

    private func commit(_ batch: [(bytes: [UInt8], done: @Sendable (Result<Int64, SpoolError>) -> Void)]) {
        var all: [UInt8] = []
        all.reserveCapacity(batch.reduce(0) { $0 + $1.bytes.count })
        for item in batch { all += item.bytes }
        // The callbacks record the new offsets in the index, so they run before `io` is released:
        // a compaction snapshot (taken under `io`) must never see bytes in the file that the index
        // does not know about yet.
        let result: Result<Int64, SpoolError> = io.locked {
            do throws(SpoolError) {
                var offset = try file.append(all)
                let start = offset
                // Success does not by itself clear a disk fault: a small record may still fit into
                // space the file already had. The probe decides (free space + write).
                for item in batch {
                    item.done(.success(offset))
                    offset += Int64(item.bytes.count)
                }
                return .success(start)
            } catch { return .failure(error) }
        }
        switch result {
        case .success:
            break
        case .failure(let e):
            if setHealthy(false) {
                logger.error("spool: cannot persist deliveries; answering 503 until it recovers", ["error": .string(e.description)])
            }
            for item in batch { item.done(.failure(e)) }
        }
    }

    /// Records whether the last write worked; returns true when this changed it.
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

    /// False from a failed write until a probe finds space and writes again.
    public var isWritable: Bool { writer.locked { healthy } }

    private func probeDisk() {
        var st = statvfs()
        guard statvfs(config.directory, &st) == 0 else { return }
        let free = Int64(st.f_bavail) * Int64(st.f_frsize)
        let total = Int64(st.f_blocks) * Int64(st.f_frsize)
        guard free >= min(config.minFreeBytes, total / 4) else { return }
        let ok = io.locked { () -> Bool in (try? file.append(SpoolRecord.noop.encoded())) != nil }
        if ok { setHealthy(true) }
    }

    private func housekeeping(probe: Bool) {
        if probe { probeDisk() }
        // Give memory freed by pruning back to the system, so RSS follows what is remembered.
        if monitor.locked({ prune(now: clock.now()) }) > 0 { hh_malloc_trim() }
        compactIfNeeded()
    }

    // MARK: - Compaction

    private func compactIfNeeded() {
        let size = io.locked { file.size }
        guard size > config.compactMinBytes else { return }
        // Only worth it when at least half the log is dead weight (superseded state records,
        // pruned deliveries): a log of live deliveries would be copied for nothing.
        let live = monitor.locked { () -> Int64 in
            let records = deliveries.reduceValues(Int64(0)) { $0 + Int64($1.body.length + ($1.lastState?.length ?? 0)) }
            return records + Int64(seen.count - deliveries.count) * 48
        }
        guard size > live * 2,
              compacting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        startThread(name: "spool-compact", nice: 5) { [self] in
            compact()
            compacting.store(false, ordering: .releasing)
        }
    }

    /// Rewrites the log with only what is still needed: live deliveries (their original frames,
    /// copied) and remembered ids. Appends go on meanwhile; only the final step, which copies
    /// what was appended since the snapshot and swaps the files, holds the writer (briefly).
    func compact() {
        let started = monotonicNow()
        // 1. Snapshot what is live and where the log ends now. Lock order everywhere: io, then monitor.
        let (cut, index, ids): (Int64, ShardedDictionary<DeliveryInfo>, ShardedDictionary<Double>) = io.locked {
            monitor.locked { (file.size, deliveries, seen) }  // copy-on-write: cheap until mutated
        }
        let live = index.values.sorted(by: Spool.arrivalOrder).map { ($0.id, $0.body, $0.lastState) }
        let idsOnly = ids.pairs.filter { index[$0.key] == nil }
        let before = cut
        do throws(SpoolError) {
            let out = try file.beginReplacement()
            defer { out.abandon() }
            // 2. Copy without any lock: bytes before `cut` never change, and only compaction
            // swaps the descriptor.
            var moved: [Int64: Int64] = [:]
            moved.reserveCapacity(live.count * 2)
            for (_, body, state) in live {
                moved[body.offset] = try out.append(try file.read(at: body.offset, count: body.length))
                if let s = state, s.offset < cut { moved[s.offset] = try out.append(try file.read(at: s.offset, count: s.length)) }
            }
            for (id, at) in idsOnly { _ = try out.append(SpoolRecord.seen(id: id, at: at).encoded()) }
            // 3. Catch up with what was appended meanwhile (it is stable once below `file.size`),
            // so that the step holding the writer has little left to copy.
            let tailBase = out.size
            var copied = cut
            for _ in 0..<8 {
                let end = io.locked { file.size }
                if end - copied < 1 << 20 { break }
                _ = try out.append(try file.read(at: copied, count: Int(end - copied)))
                copied = end
            }
            try out.sync()  // the bulk is made durable before the writer is held
            // 4. Hold the writer: copy the rest of the tail, swap, remap refs.
            try io.locked { () throws(SpoolError) in
                let rest = Int(file.size - copied)
                if rest > 0 { _ = try out.append(try file.read(at: copied, count: rest)) }
                if let e = try file.install(out) {
                    logger.warn("spool: compacted log installed but the directory fsync failed", ["error": .string(e.description)])
                }
                monitor.locked {
                    func remap(_ r: SpoolRef) -> SpoolRef {
                        if r.offset >= cut { return SpoolRef(offset: r.offset - cut + tailBase, length: r.length) }
                        return SpoolRef(offset: moved[r.offset] ?? r.offset, length: r.length)
                    }
                    deliveries.updateAll { d in
                        var d = d
                        d.body = remap(d.body)
                        d.lastState = d.lastState.map(remap)
                        return d
                    }
                }
            }
            hh_malloc_trim()  // the snapshot and offset map were large and short-lived
            logger.info("spool: compacted", ["before_bytes": .int(Int(before)), "after_bytes": .int(Int(io.locked { file.size })),
                                             "ms": .int(Int((monotonicNow() - started) * 1000))])
        } catch {
            logger.error("spool: compaction failed; keeping the current log", ["error": .string(error.description)])
        }
    }

    // MARK: - Running

    /// Blocks until a delivery is due and `claim` accepts it (nil parks it until `unpark()`),
    /// marks it running (durably when `persistRunning` says so: a delivery that will only be
    /// skipped needs no `running` record) and returns it with the claim. `abandon` gives back a
    /// claim whose delivery could not be handed out. Nil after `stopTaking()`.
    /// `claim` runs without the spool lock held (it may touch the filesystem).
    public func takeNext<C>(claim: (DeliveryInfo) -> C?, persistRunning: (C) -> Bool = { _ in true },
                            abandon: (C) -> Void = { _ in }) -> (Job, C)? {
        while true {
            let candidate: DeliveryInfo? = monitor.locked {
                while !stopped {
                    let now = clock.now()
                    while let id = timers.popDue(now) {
                        if let d = deliveries[id], d.state == .retryScheduled, (d.nextAt ?? 0) <= now { ready.push(id) }
                    }
                    while let id = ready.pop() {
                        if let d = deliveries[id], d.state == .received || d.state == .retryScheduled { return d }
                    }
                    monitor.wait(seconds: min(1, max(0.001, (timers.next ?? now + 1) - now)))
                }
                return nil
            }
            guard let candidate else { return nil }
            guard let c = claim(candidate) else {
                monitor.locked { parked.append(candidate.id) }
                continue
            }
            let picked: DeliveryInfo? = monitor.locked {
                // Popped from the queue, so no other worker has it; an operator may have purged it.
                guard var d = deliveries[candidate.id], d.state == .received || d.state == .retryScheduled else { return nil }
                d.state = .running
                d.attempt += 1
                d.nextAt = nil
                d.updatedAt = clock.now()
                deliveries[d.id] = d
                return d
            }
            guard let d = picked else { abandon(c); continue }
            if persistRunning(c) {
                var change = StateChange(id: d.id, state: .running, attempt: d.attempt, at: d.updatedAt)
                change.attemptBase = d.attemptBase
                if case .success(let ref) = appendSync(.state(change)) { monitor.locked { deliveries[d.id]?.lastState = ref } }
            }
            guard let body = try? readBody(d) else {
                logger.error("spool: delivery body unreadable; dead-lettering", ["id": .string(d.id)])
                abandon(c)
                finish(StateChange(id: d.id, state: .dead, attempt: d.attempt, at: clock.now(), error: "body unreadable from spool"))
                continue
            }
            return (Job(id: d.id, type: d.type, receivedAt: d.receivedAt, verifiedBy: d.verifiedBy, attempt: d.attempt,
                        attemptsInBudget: d.attempt - d.attemptBase, body: body), c)
        }
    }

    /// Puts deliveries parked by a refused claim back in the queue (a slot freed up).
    public func unpark() {
        monitor.locked {
            guard !parked.isEmpty else { return }
            for id in parked { ready.push(id) }
            parked.removeAll()
            monitor.broadcast()
        }
    }

    private func readBody(_ d: DeliveryInfo) throws -> [UInt8] {
        let frame = try io.locked { () throws(SpoolError) -> [UInt8] in
            // The ref may have moved if a compaction ran since `d` was copied; re-read it.
            let ref = monitor.locked { deliveries[d.id]?.body } ?? d.body
            return try file.read(at: ref.offset, count: ref.length)
        }
        guard let (_, rec) = SpoolScanner.frame(at: 0, in: frame), case .delivery(let id, _, _, _, let body) = rec, id == d.id else {
            throw SpoolError("decode", path: file.path, code: EIO)
        }
        return body
    }

    /// Records the end of an attempt (or any other transition) and schedules what follows. With
    /// `waitForDisk` (the default) it returns once the record is durable; without, the record
    /// rides the next group commit (for outcomes that are harmless to redo after a crash).
    @discardableResult
    public func finish(_ change: StateChange, waitForDisk: Bool = true) -> Bool {
        var change = change
        let applied: Bool = monitor.locked {
            guard var d = deliveries[change.id] else { return false }
            // Every state record carries the budget base, so the last one alone (all that
            // compaction keeps) restores it.
            if change.attemptBase == nil { change.attemptBase = d.attemptBase }
            let wasUnfinished = d.state.isUnfinished, wasDead = d.state == .dead
            d.apply(change)
            deliveries[change.id] = d
            unfinished += (d.state.isUnfinished ? 1 : 0) - (wasUnfinished ? 1 : 0)
            dead += (d.state == .dead ? 1 : 0) - (wasDead ? 1 : 0)
            if d.state == .retryScheduled { timers.push(d.nextAt ?? clock.now(), d.id); monitor.broadcast() }
            if d.state == .received { ready.push(d.id); monitor.broadcast() }
            return true
        }
        guard applied else { return false }
        if !waitForDisk {
            let bytes = SpoolRecord.state(change).encoded()
            let id = change.id
            enqueueWrite(bytes) { [self] result in
                if case .success(let offset) = result {
                    monitor.locked { deliveries[id]?.lastState = SpoolRef(offset: offset, length: bytes.count) }
                }
            }
            return true
        }
        switch appendSync(.state(change)) {
        case .success(let ref): monitor.locked { deliveries[change.id]?.lastState = ref }
        case .failure(let e):
            logger.error("spool: state change not persisted (it will be redone after a restart)", ["id": .string(change.id), "error": .string(e.description)])
        }
        return true
    }

    /// Makes `takeNext` return nil (shutdown); state changes can still be written.
    public func stopTaking() {
        monitor.locked { stopped = true; monitor.broadcast() }
    }

    /// Flushes queued writes and stops the writer thread; returns once it has exited.
    public func stopWriter() {
        writer.locked { writerStopped = true; writer.broadcast() }
        writerThread.withLock { $0.take() }?.join()
    }

    // MARK: - Inspection and operator actions

    /// Unfinished deliveries (waiting retries included).
    public var queueDepth: Int { monitor.locked { unfinished } }
    /// Deliveries dead now.
    public var deadCount: Int { monitor.locked { dead } }

    /// One delivery's summary, or nil.
    public func info(_ id: String) -> DeliveryInfo? { monitor.locked { deliveries[id] } }

    /// Deliveries matching the filters, oldest first.
    public func list(state: DeliveryState? = nil, type: String? = nil) -> [DeliveryInfo] {
        monitor.locked {
            deliveries.values.filter { (state == nil || $0.state == state) && (type == nil || $0.type == type) }
                .sorted(by: Spool.arrivalOrder)
        }
    }

    /// One delivery with its body and last persisted state change (outputs).
    public func show(_ id: String) -> (info: DeliveryInfo, body: [UInt8], last: StateChange?)? {
        guard let d = info(id) else { return nil }
        let body = (try? readBody(d)) ?? []
        var last: StateChange?
        if let ref = monitor.locked({ deliveries[id]?.lastState }),
           let frame = try? io.locked({ () throws(SpoolError) in try file.read(at: ref.offset, count: ref.length) }),
           let (_, rec) = SpoolScanner.frame(at: 0, in: frame), case .state(let s) = rec, s.id == id {
            last = s
        }
        return (d, body, last)
    }

    /// Queues a finished or dead delivery again with a fresh attempt budget. False if unknown or
    /// still unfinished.
    public func replay(_ id: String) -> Bool {
        guard let d = info(id), !d.state.isUnfinished else { return false }
        var change = StateChange(id: id, state: .received, attempt: d.attempt, at: clock.now(), error: nil)
        change.attemptBase = d.attempt
        return finish(change)
    }

    /// Replays every dead delivery (of one type); returns how many.
    public func retryDead(type: String? = nil) -> Int {
        list(state: .dead, type: type).reduce(0) { $0 + (replay($1.id) ? 1 : 0) }
    }

    /// Deletes dead deliveries (of one type) for good; their ids stay remembered for dedup.
    public func purgeDead(type: String? = nil) -> Int {
        var n = 0
        for d in list(state: .dead, type: type) {
            guard case .success = appendSync(.forget(id: d.id)) else { continue }
            monitor.locked {
                if deliveries.removeValue(forKey: d.id) != nil { dead -= 1 }
            }
            n += 1
        }
        return n
    }
}

extension DeliveryInfo {
    mutating func apply(_ c: StateChange) {
        state = c.state
        attempt = c.attempt
        if let b = c.attemptBase { attemptBase = b }
        nextAt = c.nextAt
        // Finished deliveries can stay in memory for the whole retention period: keep them small.
        // Their error text stays on disk in the state record (`show` reads it from there).
        if c.state == .received || c.state == .done || c.state == .skipped { lastError = nil } else if let e = c.error { lastError = e }
        if let f = c.function { function = f }
        updatedAt = c.at
    }
}

/// Carries a result out of a completion callback to a thread waiting on a semaphore.
private final class ResultBox: @unchecked Sendable {  // safe: set happens-before get via the semaphore
    private var value: Result<SpoolRef, SpoolError>?
    func set(_ v: Result<SpoolRef, SpoolError>) { value = v }
    func get() -> Result<SpoolRef, SpoolError> { value! }
}
