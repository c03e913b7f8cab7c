import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Every webhook-id the host remembers — for dedup until `HOOKHOST_DEDUP_TTL`, and as long as its
/// delivery is known — with the compact record of its delivery once that is finished.
///
/// Why not `[ExactKey: Double]`: a String object, dictionary slack and malloc overhead per id cost
/// ~450 bytes of RSS per remembered id. Here an id is its bytes in a per-shard arena plus one
/// fixed-size `Entry` in an open-addressing table (linear probing): no allocation per id.
///
/// Ids compare as exact bytes, never as Unicode strings (canonically-equivalent but different ids
/// are different deliveries), so a hash collision costs one `memcmp`, never a wrong answer. The
/// hash is Swift's `Hasher` — SipHash with a per-process random seed — so ids cannot be crafted
/// from outside to pile into one probe run.
///
/// Split into shards like `ShardedDictionary`: growing or pruning rebuilds one shard at a time
/// (1/64 of the ids), so whoever holds the lock never rehashes a million entries at once.
struct IdTable {
    struct Entry {
        /// Low bits of the id's hash: the probe start, and a quick reject before the `memcmp`.
        var hash: UInt32 = 0
        var length: UInt16 = 0
        var flags: UInt16 = 0
        /// Where the id's bytes start in the shard's arena.
        var offset: UInt32 = 0
        /// 1-based index of the delivery's compact record in the shard's `finished`; 0 if none.
        var slot: UInt32 = 0
        /// When the id was last accepted (the dedup TTL counts from here).
        var seenAt: Double = 0

        static let occupied: UInt16 = 1
        /// The delivery is kept whole elsewhere (`DeliveryIndex.active`).
        static let activeFlag: UInt16 = 2
        var isOccupied: Bool { flags & Entry.occupied != 0 }
        var isActive: Bool { flags & Entry.activeFlag != 0 }
        /// Whether a delivery (whole or compact) still exists for this id.
        var hasDelivery: Bool { isActive || slot != 0 }
    }

    /// Where an id is; valid until the table is next changed.
    struct Position: Equatable {
        let shard: Int
        let index: Int
    }

    struct Shard {
        /// Power-of-two sized (or empty); at most 3/4 full.
        var entries: [Entry] = []
        var arena: [UInt8] = []
        var count = 0
        var finished: [FinishedDelivery] = []
        /// Slots of `finished` no entry uses (a delivery replayed or purged), reused first.
        var freeSlots: [UInt32] = []
    }

    private(set) var shards: [Shard]
    private(set) var count = 0
    /// Compact delivery records held.
    private(set) var finishedCount = 0

    /// `shardCount` must be a power of two.
    init(shardCount: Int = 64) {
        precondition(shardCount > 0 && shardCount & (shardCount - 1) == 0)
        shards = Array(repeating: Shard(), count: shardCount)
    }

    var shardCount: Int { shards.count }

    // MARK: - Hashing and bytes

    @inline(__always)
    static func withBytes<R>(_ id: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = id.utf8.withContiguousStorageIfAvailable(body) { return r }
        var copy = id  // a bridged or otherwise non-contiguous string: made native once
        return copy.withUTF8(body)
    }

    @inline(__always)
    private func locate(_ bytes: UnsafeBufferPointer<UInt8>) -> (shard: Int, hash: UInt32) {
        var h = Hasher()
        h.combine(bytes: UnsafeRawBufferPointer(bytes))
        let v = UInt64(UInt(bitPattern: h.finalize()))
        return (Int(truncatingIfNeeded: v >> 40) & (shards.count - 1), UInt32(truncatingIfNeeded: v))
    }

    private static func find(_ bytes: UnsafeBufferPointer<UInt8>, _ hash: UInt32, in s: Shard) -> Int? {
        guard !s.entries.isEmpty else { return nil }
        let mask = s.entries.count - 1
        return s.entries.withUnsafeBufferPointer { es in
            s.arena.withUnsafeBufferPointer { ar in
                var i = Int(hash) & mask
                while true {
                    let e = es[i]
                    if !e.isOccupied { return nil }
                    if e.hash == hash && Int(e.length) == bytes.count
                        && (bytes.isEmpty || memcmp(ar.baseAddress! + Int(e.offset), bytes.baseAddress!, bytes.count) == 0) {
                        return i
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// The first free place on `hash`'s probe run.
    private static func freePlace(_ hash: UInt32, in entries: [Entry]) -> Int {
        let mask = entries.count - 1
        var i = Int(hash) & mask
        while entries[i].isOccupied { i = (i + 1) & mask }
        return i
    }

    // MARK: - Lookup and insertion

    func lookup(_ id: String) -> Position? {
        IdTable.withBytes(id) { b in
            let (s, h) = locate(b)
            return IdTable.find(b, h, in: shards[s]).map { Position(shard: s, index: $0) }
        }
    }

    func contains(_ id: String) -> Bool { lookup(id) != nil }

    subscript(p: Position) -> Entry { shards[p.shard].entries[p.index] }

    /// Remembers `id` as seen at `at` (a later time than the one known wins: records are replayed
    /// in log order, but a `.seen` copied by compaction may follow a newer delivery's record).
    @discardableResult
    mutating func remember(_ id: String, at: Double) -> Position {
        IdTable.withBytes(id) { b in
            let (s, h) = locate(b)
            if let i = IdTable.find(b, h, in: shards[s]) {
                shards[s].entries[i].seenAt = max(shards[s].entries[i].seenAt, at)
                return Position(shard: s, index: i)
            }
            precondition(b.count <= Int(UInt16.max), "webhook-ids are at most 256 bytes")
            if (shards[s].count + 1) * 4 > shards[s].entries.count * 3 { grow(s) }
            let offset = shards[s].arena.count
            precondition(offset + b.count <= Int(UInt32.max), "id arena of one shard past 4 GiB")
            shards[s].arena.append(contentsOf: b)
            let i = IdTable.freePlace(h, in: shards[s].entries)
            shards[s].entries[i] = Entry(hash: h, length: UInt16(b.count), flags: Entry.occupied, offset: UInt32(offset), slot: 0, seenAt: at)
            shards[s].count += 1
            count += 1
            return Position(shard: s, index: i)
        }
    }

    /// Doubles a shard's table; ids stay where they are in the arena.
    private mutating func grow(_ s: Int) {
        let old = shards[s].entries
        var fresh = [Entry](repeating: Entry(), count: max(16, old.count * 2))
        for e in old where e.isOccupied { fresh[IdTable.freePlace(e.hash, in: fresh)] = e }
        shards[s].entries = fresh
    }

    // MARK: - Per-entry state

    func id(at p: Position) -> String {
        let e = self[p]
        return shards[p.shard].arena.withUnsafeBufferPointer { ar in
            String(decoding: UnsafeBufferPointer(rebasing: ar[Int(e.offset)..<(Int(e.offset) + Int(e.length))]), as: UTF8.self)
        }
    }

    mutating func setActive(_ p: Position, _ active: Bool) {
        if active { shards[p.shard].entries[p.index].flags |= Entry.activeFlag } else { shards[p.shard].entries[p.index].flags &= ~Entry.activeFlag }
    }

    func finished(at p: Position) -> FinishedDelivery? {
        let slot = self[p].slot
        return slot == 0 ? nil : shards[p.shard].finished[Int(slot) - 1]
    }

    /// Sets or (nil) drops the compact record of the id's delivery.
    mutating func setFinished(_ p: Position, _ record: FinishedDelivery?) {
        let slot = self[p].slot
        if let record {
            if slot != 0 { shards[p.shard].finished[Int(slot) - 1] = record; return }
            let new: UInt32
            if let free = shards[p.shard].freeSlots.popLast() {
                new = free
                shards[p.shard].finished[Int(free) - 1] = record
            } else {
                shards[p.shard].finished.append(record)
                new = UInt32(shards[p.shard].finished.count)
            }
            shards[p.shard].entries[p.index].slot = new
            finishedCount += 1
        } else if slot != 0 {
            shards[p.shard].freeSlots.append(slot)
            shards[p.shard].entries[p.index].slot = 0
            finishedCount -= 1
        }
    }

    // MARK: - Bulk

    /// Calls `body` for every id, in no particular order.
    func forEach<E: Error>(_ body: (Position, Entry) throws(E) -> Void) throws(E) {
        for s in shards.indices {
            for (i, e) in shards[s].entries.enumerated() where e.isOccupied { try body(Position(shard: s, index: i), e) }
        }
    }

    /// Calls `body` for every compact delivery record, in no particular order.
    func forEachFinished(_ body: (Position, FinishedDelivery) -> Void) {
        for s in shards.indices { forEachFinished(shard: s, body) }
    }

    /// The same for shard `s` only.
    func forEachFinished(shard s: Int, _ body: (Position, FinishedDelivery) -> Void) {
        guard !shards[s].finished.isEmpty else { return }
        for (i, e) in shards[s].entries.enumerated() where e.isOccupied && e.slot != 0 {
            body(Position(shard: s, index: i), shards[s].finished[Int(e.slot) - 1])
        }
    }

    /// Rewrites every compact record in place (log positions after compaction).
    mutating func updateFinished(_ transform: (inout FinishedDelivery) -> Void) {
        for s in shards.indices where !shards[s].finished.isEmpty {
            shards[s].finished.withUnsafeMutableBufferPointer { f in for i in f.indices { transform(&f[i]) } }
        }
    }

    /// Decides for every id of shard `s` whether its entry and its compact record stay, and
    /// rebuilds the shard — table, arena, records, sized for what is left so the memory goes back
    /// — if anything went. Returns how many entries and records went. A shard where nothing goes
    /// is not touched (no copy-on-write of a compaction snapshot).
    mutating func prune(shard s: Int, _ decide: (Entry, FinishedDelivery?) -> (keepEntry: Bool, keepRecord: Bool)) -> Int {
        let old = shards[s]
        var gone = 0
        for e in old.entries where e.isOccupied {
            let (keepEntry, keepRecord) = decide(e, e.slot == 0 ? nil : old.finished[Int(e.slot) - 1])
            if !keepEntry { gone += 1 }
            if e.slot != 0 && (!keepRecord || !keepEntry) { gone += 1 }
        }
        guard gone > 0 else { return 0 }
        var fresh = Shard()
        var survivors: [Entry] = []
        survivors.reserveCapacity(old.count)
        var droppedRecords = 0
        old.arena.withUnsafeBufferPointer { ar in
            for var e in old.entries where e.isOccupied {
                let record = e.slot == 0 ? nil : old.finished[Int(e.slot) - 1]
                let (keepEntry, keepRecord) = decide(e, record)
                if record != nil && !(keepEntry && keepRecord) { droppedRecords += 1 }
                guard keepEntry else { continue }
                let at = fresh.arena.count
                fresh.arena.append(contentsOf: UnsafeBufferPointer(rebasing: ar[Int(e.offset)..<(Int(e.offset) + Int(e.length))]))
                e.offset = UInt32(at)
                if let record, keepRecord {
                    fresh.finished.append(record)
                    e.slot = UInt32(fresh.finished.count)
                } else {
                    e.slot = 0
                }
                survivors.append(e)
            }
        }
        if !survivors.isEmpty {
            var cap = 16
            while cap < survivors.count * 2 { cap *= 2 }  // half full: room to grow before the next rebuild
            fresh.entries = [Entry](repeating: Entry(), count: cap)
            for e in survivors { fresh.entries[IdTable.freePlace(e.hash, in: fresh.entries)] = e }
        }
        fresh.count = survivors.count
        count -= old.count - survivors.count
        finishedCount -= droppedRecords
        shards[s] = fresh
        return gone
    }
}

/// A finished (done or skipped) delivery as kept for the retention period: fixed size, no
/// String, no optionals that need boxes. The id lives in the `IdTable` entry that holds it; the
/// type and function are indices into the index's name table; the error text, if any, stays in
/// the state record on disk (as it did before). `DeliveryIndex` turns it back into the exact
/// `DeliveryInfo` it was made from; deliveries it cannot represent exactly stay whole.
struct FinishedDelivery: Equatable {
    var receivedAt: Double
    var updatedAt: Double
    var bodyOffset: Int64
    var lastOffset: Int64
    var attempt: Int32
    var attemptBase: Int32
    var type: UInt32
    /// Name-table index + 1; 0 = no function.
    var function: UInt32
    var bodyLength: UInt32
    var lastLength: UInt32
    var state: UInt8
    var flags: UInt8

    static let jwt: UInt8 = 1, hasLast: UInt8 = 2, lastIsAttempt: UInt8 = 4
}
