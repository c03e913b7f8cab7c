import Synchronization
import HookSupport
import HookSpool

/// Which deliveries a worker may still start. Open normally; a drain restricts it to the
/// deliveries it lets finish here, then closes it so the rest can be handed over: nothing a
/// worker starts may also be sent to a peer. Checked under the dispatcher's start gate, so once
/// `Dispatcher.closeStarts` returns, every start that passed the check is in the store.
public final class DrainStartGate: Sendable {
    enum Mode: Sendable, Equatable {
        case open
        case only(Set<String>)
        case closed
    }

    private let mode = Mutex<Mode>(.open)

    public init() {}

    /// Whether `id` may start now.
    public func mayStart(_ id: String) -> Bool {
        mode.withLock {
            switch $0 {
            case .open: true
            case .only(let ids): ids.contains(id)
            case .closed: false
            }
        }
    }

    func restrict(to ids: Set<String>) { mode.withLock { $0 = .only(ids) } }
    func close() { mode.withLock { $0 = .closed } }
}

extension Dispatcher {
    /// From now on only `ids` may start (a drain: the rest are handed over or left).
    public func restrictStarts(to ids: Set<String>) { startGate.writing { drainGate.restrict(to: ids) } }

    /// From now on nothing starts. Returns once every start that passed the check before is
    /// recorded in the store (as running or fetching), so the store's states can be trusted.
    public func closeStarts() { startGate.writing { drainGate.close() } }

    /// Whether a pause holds `d` back: its function (as routed now) is paused.
    public func isHeldByPause(_ d: DeliveryInfo) -> Bool {
        guard EventType.isValid(d.type), case .run(let f, _) = functions.route(type: d.type, userMetadata: routingMetadata(d)) else { return false }
        return pauses.isPaused(f.name)
    }
}
