import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// How a run ended and what it printed.
public struct ProcessResult: Sendable {
    public enum Termination: Sendable, Equatable { case exited(Int32), signaled(Int32), timedOut }
    public var termination: Termination
    public var stdout: [UInt8]
    public var stdoutTruncated: Bool
    /// The last `stderrLimit` bytes of stderr.
    public var stderrTail: [UInt8]
    public var duration: Double
    public var pid: Int32?
}
