import HookSupport
import HookNet
import HookHTTP
import HookVerify

extension DeliveryIndex {
    /// Notes a job completion admitted (or read back from the log), if `type` is one. Events a
    /// function emitted do not count, whatever their type: they say nothing about Gemini's deliveries.
    mutating func noteJob(id: String, type: String, verifiedBy: VerifiedBy, head: DeliveryHead?, at: Double) {
        guard DeliveryIndex.takesPartByJob(verifiedBy), let key = JobKey(type: type, job: head?.job) else { return }
        jobs.note(key, id: id, reconcile: verifiedBy == .reconcile, at: at)
    }

    /// Whether a delivery of `type` about `job` adds nothing, by job rather than id: a
    /// synthesized one when that completion is known at all, a real one when a synthesized
    /// event recovered it already. Nil when it is new; else the id of the synthesized event it
    /// repeats (empty when it is a synthesized event that a real delivery came before).
    func jobDuplicate(type: String, job: String?, verifiedBy: VerifiedBy) -> String? {
        guard DeliveryIndex.takesPartByJob(verifiedBy), let key = JobKey(type: type, job: job) else { return nil }
        if verifiedBy == .reconcile { return jobs.knows(key) ? (jobs.recoveredBy(key)?.id ?? "") : nil }
        return jobs.recoveredBy(key)?.id
    }

    static func takesPartByJob(_ v: VerifiedBy) -> Bool { v == .hmac || v == .jwt || v == .reconcile }
}

extension DeliveryIndex {
    /// Drops the job completions seen before `cutoff` (the dedup TTL), except those of deliveries
    /// kept whole — unfinished, dead, or finished with a history: their ids stay remembered past
    /// the TTL (`prune(shard:)`), and a completion must be known as long as its delivery is, or a
    /// synthesized event still waiting to run (a paused function) and a late real delivery of
    /// the same completion would both run. Returns how many entries went.
    mutating func pruneJobs(before cutoff: Double) -> Int {
        let before = jobs.count
        guard jobs.prune(before: cutoff) > 0 else { return 0 }
        // Only when something went (most passes prune nothing); `pruneWhole` walks these too.
        for d in active.values where d.receivedAt < cutoff && d.head?.job != nil { noteJob(id: d.id, type: d.type, verifiedBy: d.verifiedBy, head: d.head, at: d.receivedAt) }
        return max(0, before - jobs.count)
    }
}
