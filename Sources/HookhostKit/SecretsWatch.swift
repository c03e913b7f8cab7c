import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Re-reads the secrets file every `interval` seconds on its own thread, until `stop()`.
final class SecretsWatch: Service {
    private let loop: BackgroundLoop

    init(secrets: SecretsStore, interval: Double = 2) {
        loop = BackgroundLoop(name: "secrets-watch", every: { interval }) { _ in secrets.reload() }
    }

    func start() { loop.start() }

    /// Stops the watch and waits for its thread to exit.
    func stop() { loop.stop() }
}
