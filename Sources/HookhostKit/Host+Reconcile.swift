import HookSupport
import HookSpool

extension Host {
    /// Placeholder until the timer lands.
    func startReconcileTimer(spool: Spool, reporting: ReconcileAdmission.Reporting, into services: inout ServiceGroup) {}
}
