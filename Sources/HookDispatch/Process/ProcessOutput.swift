import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// What a run printed, within its limits: stdout up to `stdoutLimit` bytes (the rest is counted
/// as truncation, never kept), and the last `stderrLimit` bytes of stderr (a crash's message is
/// at the end). Pure: the pump hands it the bytes it read.
struct ProcessOutput {
    let stdoutLimit: Int
    let stderrLimit: Int
    private(set) var stdout: [UInt8] = []
    private(set) var stdoutTruncated = false
    private(set) var stderrTail: [UInt8] = []

    init(stdoutLimit: Int, stderrLimit: Int) {
        self.stdoutLimit = stdoutLimit
        self.stderrLimit = stderrLimit
    }

    mutating func appendStdout(_ bytes: ArraySlice<UInt8>) {
        let room = stdoutLimit - stdout.count
        if room > 0 { stdout += bytes.prefix(room) }
        if bytes.count > room { stdoutTruncated = true }
    }

    mutating func appendStderr(_ bytes: ArraySlice<UInt8>) {
        stderrTail += bytes
        if stderrTail.count > stderrLimit { stderrTail.removeFirst(stderrTail.count - stderrLimit) }
    }
}
