import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Concurrency slots per function (`max_concurrency`) and the deliveries waiting for one, oldest
/// first. A freed slot passes straight to the delivery that has waited longest: a backlog of N
/// costs one hand-over per run, where making every waiting delivery due again at each freed slot
/// (each one handed out, refused and put back) cost N per run. Pure: names and ids only.
///
/// No slot stays free while deliveries wait for it: waiting starts only when every slot is taken,
/// and a slot given back goes to the next one waiting. The exception is a raised limit (or a
/// function gone): `unblock`, which the dispatcher calls for waited-for functions every second,
/// makes as many waiting deliveries due again as there are free slots (or all of them).
struct SlotTable {
    private var inUse: [String: Int] = [:]
    /// The limit each function had at its latest claim (a sidecar may change it).
    private var limits: [String: Int] = [:]
    private var waiting: [String: ReadyQueue] = [:]

    /// Takes one of the `limit` slots of `name` (true), or queues `id` for the next one that is
    /// given back (false).
    mutating func claim(_ name: String, limit: Int, for id: String) -> Bool {
        let limit = max(1, limit)
        limits[name] = limit
        if inUse[name, default: 0] < limit {
            inUse[name, default: 0] += 1
            return true
        }
        waiting[name, default: ReadyQueue()].push(id)
        return false
    }

    /// Gives back a slot of `name`. `handOver`: the delivery that waited longest, which now holds
    /// this very slot (it stays taken). `due`: more waiting deliveries when the limit was raised
    /// meanwhile — they hold no slot and claim one as any due delivery does.
    mutating func release(_ name: String) -> (handOver: String?, due: [String]) {
        let limit = limits[name] ?? 1
        var used = max(0, inUse[name, default: 0] - 1)
        var handOver: String?
        var due: [String] = []
        if var queue = waiting.removeValue(forKey: name) {
            if used < limit, let id = queue.pop() {
                handOver = id
                used += 1
            }
            while used + due.count < limit, let id = queue.pop() { due.append(id) }
            if !queue.isEmpty { waiting[name] = queue }
        }
        inUse[name] = used == 0 ? nil : used
        return (handOver, due)
    }

    /// Functions some delivery waits for.
    var waitedFor: [String] { Array(waiting.keys) }

    /// Waiting deliveries of `name` that need not wait any longer, taken off its queue: all of
    /// them when the function is gone (`limit` nil: they are resolved again), else as many as
    /// `limit` leaves slots free (a raised `max_concurrency`). They hold no slot: the caller makes
    /// them due, and each claims one as any due delivery does. Without this they waited for a
    /// slot of the old function to be given back — as long as its longest run.
    mutating func unblock(_ name: String, limit: Int?) -> [String] {
        guard var queue = waiting.removeValue(forKey: name) else { return [] }
        var out: [String] = []
        if let limit {
            let limit = max(1, limit)
            limits[name] = limit
            while inUse[name, default: 0] + out.count < limit, let id = queue.pop() { out.append(id) }
        } else {
            while let id = queue.pop() { out.append(id) }
        }
        if !queue.isEmpty { waiting[name] = queue }
        return out
    }

    /// Slots of `name` taken now.
    func taken(_ name: String) -> Int { inUse[name, default: 0] }

    /// Deliveries waiting for a slot of `name`.
    func waitingCount(_ name: String) -> Int { waiting[name]?.count ?? 0 }
}
