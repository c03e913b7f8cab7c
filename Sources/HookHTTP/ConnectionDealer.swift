import Synchronization
import HookSupport
import HookNet

/// Deals accepted connections to the loops in turn.
final class ConnectionDealer: Sendable {
    private let loops: [Reactor]
    private let turn = Atomic<Int>(0)

    init(_ loops: [Reactor]) { self.loops = loops }

    func pick() -> Reactor { loops[turn.add(1, ordering: .relaxed).oldValue % loops.count] }
}
