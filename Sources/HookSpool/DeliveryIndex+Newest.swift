extension DeliveryIndex {
    /// For every function, the newest `limit` deliveries recorded for it (newest first, as
    /// `page(DeliveryFilter(function:))` lists them), in one pass over the index. The console's
    /// functions view asked a page per function: on 200 000 deliveries and 50 functions that was
    /// 50 scans (~1.5 s of a debug build) with the admission lock taken for each.
    func newestByFunction(limit: Int) -> [String: [DeliveryInfo]] {
        var byName: [String: NewestFirst] = [:]
        for d in active.values {
            guard let f = d.function else { continue }
            byName[f, default: NewestFirst(limit: limit)].offer(DeliveryCursor(after: d), .whole(d))
        }
        // Compact records name their function by index + 1 into `names` (0: none): one set each.
        var byIndex = [NewestFirst](repeating: NewestFirst(limit: limit), count: names.count + 1)
        for s in 0..<ids.shardCount {
            let shard = ids.shards[s]
            if shard.finished.isEmpty { continue }
            shard.entries.withUnsafeBufferPointer { es in
                shard.finished.withUnsafeBufferPointer { fs in
                    guard let e0 = es.baseAddress, let f0 = fs.baseAddress else { return }
                    for i in 0..<es.count {
                        let e = e0[i]
                        guard e.flags & IdTable.Entry.occupied != 0, e.slot != 0 else { continue }
                        let f = f0[Int(e.slot) - 1]
                        let k = Int(f.function)
                        guard k > 0, k < byIndex.count else { continue }
                        let c = DeliveryCursor(receivedAt: f.receivedAt, offset: f.bodyOffset)
                        if byIndex[k].wants(c) { byIndex[k].offer(c, .compact(IdTable.Position(shard: s, index: i))) }
                    }
                }
            }
        }
        for k in 1..<byIndex.count where !byIndex[k].newestFirst.isEmpty {
            var merged = byName[names[k - 1]] ?? NewestFirst(limit: limit)
            for (c, candidate) in byIndex[k].newestFirst { merged.offer(c, candidate) }
            byName[names[k - 1]] = merged
        }
        return byName.mapValues { best in
            best.newestFirst.compactMap { entry -> DeliveryInfo? in
                switch entry.1 {
                case .whole(let d): return d
                case .compact(let p): return ids.finished(at: p).map { expand($0, id: ids.id(at: p)) }
                }
            }
        }
    }
}

extension DeliveryQueries {
    /// For stores without an index of their own: one listing, grouped.
    public func newestByFunction(limit: Int) -> [String: [DeliveryInfo]] {
        var out: [String: [DeliveryInfo]] = [:]
        for d in list().reversed() {
            guard let f = d.function, out[f, default: []].count < limit else { continue }
            out[f, default: []].append(d)
        }
        return out
    }
}
