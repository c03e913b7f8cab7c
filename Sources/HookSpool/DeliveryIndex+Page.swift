import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Where a page of deliveries, newest first, stops: the arrival position (time, then log position)
/// of the last delivery it showed. The next page starts strictly below it, so deliveries
/// accepted meanwhile never shift a page (they are all above the first one) and none is shown
/// twice or skipped. Pure.
public struct DeliveryCursor: Sendable, Equatable, Comparable {
    public let receivedAt: Double
    public let offset: Int64

    public init(receivedAt: Double, offset: Int64) {
        self.receivedAt = receivedAt
        self.offset = offset
    }

    /// The cursor of `d`: the page after it starts below it.
    public init(after d: DeliveryInfo) { self.init(receivedAt: d.receivedAt, offset: d.body.offset) }

    public static func < (a: DeliveryCursor, b: DeliveryCursor) -> Bool {
        a.receivedAt < b.receivedAt || (a.receivedAt == b.receivedAt && a.offset < b.offset)
    }

    /// `1765120000.25_4096`: the time as Swift prints a Double (it reads back exactly) and the
    /// log position.
    public var text: String { "\(receivedAt)_\(offset)" }

    /// Nil for anything `text` did not make (a client must not get a guessed page).
    public init?(text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.allSatisfy({ Set("0123456789.eE+-".utf8).contains($0) }),
              let t = Double(parts[0]), t.isFinite, let o = Int64(parts[1]), o >= 0 else { return nil }
        self.init(receivedAt: t, offset: o)
    }
}

/// One page of a listing, newest first: at most `limit` deliveries below the cursor, how many
/// match the filter in all, and the cursor of the next page (nil on the last one).
public struct DeliveryPage: Sendable {
    public var deliveries: [DeliveryInfo]
    public var matched: Int
    public var next: DeliveryCursor?

    public init(deliveries: [DeliveryInfo], matched: Int, next: DeliveryCursor?) {
        self.deliveries = deliveries
        self.matched = matched
        self.next = next
    }

    /// The page out of a whole listing in arrival order (oldest first): for stores without an
    /// index of their own, and the reference the index's answer is tested against.
    public static func of(_ oldestFirst: [DeliveryInfo], before: DeliveryCursor?, limit: Int) -> DeliveryPage {
        let below = before.map { b in oldestFirst.filter { DeliveryCursor(after: $0) < b } } ?? oldestFirst
        let page = Array(below.suffix(limit).reversed())
        return DeliveryPage(deliveries: page, matched: oldestFirst.count, next: below.count > limit ? page.last.map(DeliveryCursor.init(after:)) : nil)
    }
}

extension DeliveryIndex {
    /// The newest `limit` deliveries `filter` selects below `before`, without expanding or
    /// sorting the whole index: one pass over the compact records keeps the best `limit`
    /// positions, and only those are expanded. A console paging through 200 000 deliveries costs
    /// one scan of fixed-size records per page, not 200 000 copies.
    func page(_ filter: DeliveryFilter, before: DeliveryCursor?, limit: Int) -> DeliveryPage {
        var best = NewestFirst(limit: limit)
        var matched = 0
        for d in active.values where filter.matches(d) {
            matched += 1
            let c = DeliveryCursor(after: d)
            if before.map({ c < $0 }) ?? true { best.offer(c, .whole(d)) }
        }
        // Compact records are done or skipped: another state rules them all out at once.
        if filter.state == nil || filter.state == .done || filter.state == .skipped {
            // Everything the loop asks, decided once before it: this is the loop a page of a
            // large spool costs, walked through buffer pointers (not a closure per record) so it
            // stays cheap in a debug build too.
            let wanted: Int = filter.state.map { $0 == .done ? 0 : 1 } ?? -1
            let typeOK = names.map { n in filter.type.map { DeliveryIndex.type(n, matches: $0) } ?? true }
            // Index + 1 of the wanted function in `names` (0: no function) as compact records
            // hold it; -1: any; -2: a name no compact record has.
            let function: Int64 = filter.function.map { f in names.firstIndex(of: f).map { Int64($0) + 1 } ?? -2 } ?? -1
            let since = filter.since ?? -.infinity, until = filter.until ?? .infinity
            let ceiling = before ?? DeliveryCursor(receivedAt: .infinity, offset: .max)
            typeOK.withUnsafeBufferPointer { typeOK in
                for s in 0..<ids.shardCount {
                    let shard = ids.shards[s]
                    if shard.finished.isEmpty { continue }
                    shard.entries.withUnsafeBufferPointer { es in
                        shard.finished.withUnsafeBufferPointer { fs in
                            guard let e0 = es.baseAddress, let f0 = fs.baseAddress else { return }
                            var i = 0
                            while i < es.count {
                                defer { i += 1 }
                                let e = e0[i]
                                guard e.flags & IdTable.Entry.occupied != 0, e.slot != 0 else { continue }
                                let f = f0[Int(e.slot) - 1]
                                guard wanted < 0 || Int(f.state) == wanted, typeOK[Int(f.type)],
                                      function == -1 || Int64(f.function) == function,
                                      f.receivedAt >= since, f.receivedAt < until else { continue }
                                matched += 1
                                let c = DeliveryCursor(receivedAt: f.receivedAt, offset: f.bodyOffset)
                                guard c < ceiling, best.wants(c) else { continue }
                                best.offer(c, .compact(IdTable.Position(shard: s, index: i)))
                            }
                        }
                    }
                }
            }
        }
        let chosen = best.newestFirst
        let list = chosen.compactMap { entry -> DeliveryInfo? in
            switch entry.1 {
            case .whole(let d): return d
            case .compact(let p): return ids.finished(at: p).map { expand($0, id: ids.id(at: p)) }
            }
        }
        return DeliveryPage(deliveries: list, matched: matched, next: best.overflowed ? chosen.last?.0 : nil)
    }
}

/// The best `limit` candidates seen so far, kept sorted oldest first: a candidate older than all
/// of a full set is refused with one comparison, the common case once the newest are in.
struct NewestFirst {
    enum Candidate { case whole(DeliveryInfo), compact(IdTable.Position) }
    let limit: Int
    private var kept: [(DeliveryCursor, Candidate)] = []
    /// The oldest kept (valid once `kept` is full).
    private var floor = DeliveryCursor(receivedAt: -.infinity, offset: 0)
    /// Whether more candidates than `limit` were offered (so there is a next page).
    private(set) var overflowed = false

    init(limit: Int) { self.limit = max(0, limit) }

    /// Whether `c` would be kept: the set is not full, or `c` is newer than its oldest. A refusal
    /// still counts as more than `limit` offered.
    mutating func wants(_ c: DeliveryCursor) -> Bool {
        guard kept.count == limit else { return true }
        if limit == 0 { overflowed = true; return false }
        overflowed = true
        return floor < c
    }

    mutating func offer(_ c: DeliveryCursor, _ candidate: Candidate) {
        if kept.count == limit {
            overflowed = true
            guard limit > 0, floor < c else { return }
            kept.removeFirst()
        }
        // Binary search for the place that keeps `kept` ascending.
        var lo = 0, hi = kept.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if kept[mid].0 < c { lo = mid + 1 } else { hi = mid }
        }
        kept.insert((c, candidate), at: lo)
        floor = kept[0].0
    }

    var newestFirst: [(DeliveryCursor, Candidate)] { kept.reversed() }
}

extension DeliveryQueries {
    /// For stores without an index of their own: the whole listing, cut.
    public func page(_ filter: DeliveryFilter, before: DeliveryCursor?, limit: Int) -> DeliveryPage {
        DeliveryPage.of(list(filter), before: before, limit: limit)
    }
}
