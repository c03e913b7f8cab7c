import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Launches processes; a protocol so the dispatcher can be tested with a double.
public protocol ProcessLauncher: Sendable {
    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult
}
