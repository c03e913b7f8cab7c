import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Re-reads the secrets file every `interval` seconds on its own thread, until `stop()`.
final class SecretsWatch: Sendable {
    private let secrets: SecretsStore
    private let interval: Double
    private let wakeup = Monitor()
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<ThreadHandle?>(nil)

    init(secrets: SecretsStore, interval: Double = 2) {
        self.secrets = secrets
        self.interval = interval
    }

    func start() {
        let t = startThread(name: "secrets-watch") { [self] in
            while true {
                // Waits on a condition, not in sleep(): `stop` wakes it at once.
                let stop = wakeup.locked { () -> Bool in
                    if !stopping.load(ordering: .relaxed) { wakeup.wait(seconds: interval) }
                    return stopping.load(ordering: .relaxed)
                }
                if stop { return }
                secrets.reload()
            }
        }
        thread.withLock { $0 = t }
    }

    /// Stops the watch and waits for its thread to exit.
    func stop() {
        wakeup.locked {
            stopping.store(true, ordering: .relaxed)
            wakeup.broadcast()
        }
        thread.withLock { $0.take() }?.join()
    }
}
