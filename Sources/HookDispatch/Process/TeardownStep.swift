import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// One step of ending a process group that overran its time: send a signal, or give it time.
public enum TeardownStep: Sendable, Equatable {
    case signal(Int32)
    case wait(Double)

    /// SIGTERM, 2 s to clean up, then SIGKILL.
    public static let standard: [TeardownStep] = [.signal(SIGTERM), .wait(2), .signal(SIGKILL)]

    /// Shutdown: SIGTERM, `grace` seconds to finish, then SIGKILL.
    public static func shutdown(grace: Double) -> [TeardownStep] { [.signal(SIGTERM), .wait(grace), .signal(SIGKILL)] }
}
