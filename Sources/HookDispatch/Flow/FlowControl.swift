import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The flow table under its lock, shared by the workers, the download threads, the flow watch
/// and the metrics; and the watch, poked when a rate timer earlier than all before is armed.
final class FlowControl: Sendable {
    private let table = Mutex(FlowTable())
    /// Fires the rate timers (`Dispatcher.startFlowWatch`); nil before the start and after the drain.
    let watch = Mutex<BackgroundLoop?>(nil)

    func withLock<R: Sendable>(_ body: (inout FlowTable) -> R) -> R {
        let (r, earlier) = table.withLock { t in (body(&t), t.takeArmedEarlier()) }
        if earlier { watch.withLock { $0 }?.poke() }
        return r
    }
}
