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
