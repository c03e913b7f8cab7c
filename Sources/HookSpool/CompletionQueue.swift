import Dispatch
import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Runs completions in order on one thread of their own.
final class CompletionQueue: @unchecked Sendable {  // safe: `items` and `stopping` guarded by `monitor`; the handle by its Mutex
    private let monitor = Monitor()
    private var items: [@Sendable () -> Void] = []
    private var stopping = false
    private let thread = Mutex<ThreadHandle?>(nil)

    func start() {
        let t = startThread(name: "spool-complete") { [self] in
            while true {
                let (batch, stop) = monitor.locked { () -> ([@Sendable () -> Void], Bool) in
                    while items.isEmpty && !stopping { monitor.wait(seconds: 1) }
                    let b = items
                    items.removeAll(keepingCapacity: true)
                    return (b, stopping)
                }
                for c in batch { c() }
                if stop && batch.isEmpty { return }
            }
        }
        thread.withLock { $0 = t }
    }

    func enqueue(_ batch: [@Sendable () -> Void]) {
        guard !batch.isEmpty else { return }  // a wake-up for nothing is a context switch
        monitor.locked {
            let wasEmpty = items.isEmpty
            items += batch
            if wasEmpty { monitor.broadcast() }
        }
    }

    /// Runs what is queued, then stops the thread and joins it.
    func stopAndWait() {
        monitor.locked {
            stopping = true
            monitor.broadcast()
        }
        thread.withLock { $0.take() }?.join()
    }
}
