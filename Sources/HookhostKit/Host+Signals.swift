import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// How `serve` takes its signals: SIGHUP reloads, SIGTERM and SIGINT end it.
extension Host {
    /// Signals are taken synchronously by the main thread (`waitForSignals`). Blocked before any
    /// thread exists: threads inherit the mask (and `startThread` blocks them again), and an
    /// unblocked thread would otherwise receive a second SIGTERM and die by its default action.
    /// Functions get a clean mask.
    static func takeSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)  // a function closing stdin early must not kill the host
        return set
    }

    /// SIGHUP reloads the secrets, the JWKS and the TLS files; SIGTERM or SIGINT returns.
    func waitForSignals(_ signals: sigset_t, _ running: Running) {
        var set = signals
        while true {
            var sig: Int32 = 0
            sigwait(&set, &sig)
            guard sig == SIGHUP else { return }
            logger.info("SIGHUP: reloading secrets and the JWKS")
            running.secrets.reload(force: true)
            running.jwks.reload()
            reloadTLS(running.tls)
        }
    }
}

/// A value set once after the closures that read it were made (the metrics' gauges read the JWKS
/// cache, which is made with those metrics).
final class Late<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    func set(_ v: T) { value.withLock { $0 = v } }
    func get() -> T? { value.withLock { $0 } }
}
