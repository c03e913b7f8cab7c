import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Functions running now, by pid, so shutdown can signal them. Remembers the last signal sent
/// to all, so a function that starts after it (its worker took the delivery just before the
/// drain) gets it too instead of running on until the SIGKILL.
final class ActiveRuns: Sendable {
    private let state = Mutex<(runs: [Int32: String], signalled: Int32?)>(([:], nil))
    func add(_ pid: Int32, _ id: String) {
        state.withLock { s in
            s.runs[pid] = id
            if let sig = s.signalled { killpg(pid, sig) }
        }
    }
    func remove(_ pid: Int32) { state.withLock { _ = $0.runs.removeValue(forKey: pid) } }
    func snapshot() -> [Int32: String] { state.withLock { $0.runs } }
    /// Signals every group still listed, under the lock `remove` takes before a leader is reaped.
    func signalAll(_ signal: Int32) -> [Int32: String] {
        state.withLock { s in
            s.signalled = signal
            for pid in s.runs.keys { killpg(pid, signal) }
            return s.runs
        }
    }
}
