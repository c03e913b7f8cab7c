import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// What to run: the executable, its exact environment, stdin, and its limits.
public struct ProcessSpec: Sendable {
    public var executable: String
    public var environment: [String]
    public var workingDirectory: String?
    public var stdin: [UInt8]
    /// Seconds before the teardown starts.
    public var timeout: Double
    /// What happens to the process group at the timeout, in order (a wait gives it time to
    /// exit by itself; the steps stop as soon as the leader has exited).
    public var teardown: [TeardownStep] = TeardownStep.standard
    public var stdoutLimit = 1 << 20
    public var stderrLimit = 64 << 10
    /// Called with the pid right after the spawn (so shutdown can kill the group).
    public var onStart: (@Sendable (Int32) -> Void)?
    /// Called once the process has exited and its group was killed, but *before* it is reaped:
    /// until then its pid and group id cannot be reused, so whoever still holds the pid (the
    /// drain) must let go here.
    public var onExit: (@Sendable (Int32) -> Void)?
    /// The delivery this run belongs to: a process it detaches is spared by the reaper while the
    /// run lasts (found by `HOOKHOST_DELIVERY_ID` in its environment).
    public var delivery = ""
    /// The user this run is started as, instead of the launcher's (a function's own uid under
    /// `HOOKHOST_FUNCTION_UIDS`).
    public var user: FunctionUser?

    public init(executable: String, environment: [String], workingDirectory: String? = nil, stdin: [UInt8] = [], timeout: Double) {
        self.executable = executable
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.timeout = timeout
    }
}
