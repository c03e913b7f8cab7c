import Synchronization

/// The flow table under its lock: shared by the workers, the flow watch and the metrics.
final class FlowControl: Sendable {
    private let table = Mutex(FlowTable())

    func withLock<R: Sendable>(_ body: (inout FlowTable) -> R) -> R {
        table.withLock { body(&$0) }
    }
}
