import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Moves a run's bytes: `input` into the child's stdin, its stdout and stderr into `output`, all
/// non-blocking behind one poll(2) that can also watch the leader's pidfd. It decides nothing:
/// how long to wait comes from the supervisor's `TeardownSchedule`.
struct ProcessPump: ~Copyable {
    private var stdin: FD
    private var stdout: FD
    private var stderr: FD
    /// Readable once the leader has exited; not open on kernels without pidfd_open (exits are polled then).
    private let pidfd: FD
    private let input: [UInt8]
    private var written = 0
    private var output: ProcessOutput
    private var buffer = [UInt8](repeating: 0, count: 65536)

    /// The host's ends of the child's three pipes.
    init(stdin: consuming FD, stdout: consuming FD, stderr: consuming FD, pidfd: consuming FD, input: [UInt8], output: ProcessOutput) {
        for fd in [stdin.raw, stdout.raw, stderr.raw] { _ = hh_fcntl_setfl_nonblock(fd) }
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.pidfd = pidfd
        self.input = input
        self.output = output
        if input.isEmpty { self.stdin.close() }
    }

    /// stdout or stderr may still bring bytes.
    var outputOpen: Bool { stdout.isOpen || stderr.isOpen }

    /// Waits (one poll) until a pipe is ready, the leader exits (`watchingLeader`), or the
    /// `monotonicNow()` time `until` (nil: a short while), then moves whatever is ready.
    mutating func transfer(now: Double, until: Double?, watchingLeader: Bool) {
        var fds: [pollfd] = []
        if stdin.isOpen { fds.append(pollfd(fd: stdin.raw, events: Int16(POLLOUT), revents: 0)) }
        if stdout.isOpen { fds.append(pollfd(fd: stdout.raw, events: Int16(POLLIN), revents: 0)) }
        if stderr.isOpen { fds.append(pollfd(fd: stderr.raw, events: Int16(POLLIN), revents: 0)) }
        if watchingLeader && pidfd.isOpen { fds.append(pollfd(fd: pidfd.raw, events: Int16(POLLIN), revents: 0)) }
        // Without a pidfd nothing wakes the poll when the leader exits: look again soon.
        let cap: Double = watchingLeader && !pidfd.isOpen ? 20 : 1000
        // +1 ms: wake after `until`, not a rounding error before it.
        let ms = until.map { max(1, min(cap, ($0 - now) * 1000 + 1)) } ?? cap
        _ = poll(&fds, nfds_t(fds.count), Int32(ms))
        for p in fds where p.revents != 0 {
            if p.fd == stdin.raw {
                writeInput()
            } else if p.fd == stdout.raw {
                let n = ProcessPump.readAvailable(&stdout, into: &buffer)
                if n > 0 { output.appendStdout(buffer[..<n]) }
            } else if p.fd == stderr.raw {
                let n = ProcessPump.readAvailable(&stderr, into: &buffer)
                if n > 0 { output.appendStderr(buffer[..<n]) }
            }
        }
    }

    /// Closes the pipes and the pidfd; what the run printed.
    consuming func finish() -> ProcessOutput { output }

    private mutating func writeInput() {
        do throws(Errno) {
            written += try stdin.write(input, from: written)
            if written >= input.count { stdin.close() }
        } catch {
            // EPIPE: the function closed stdin early; that is its business.
            if !error.wouldBlock { stdin.close() }
        }
    }

    /// Reads what `fd` has now into `buffer`: the count, 0 when nothing came. Closes `fd` at the
    /// end of input or on an error.
    private static func readAvailable(_ fd: inout FD, into buffer: inout [UInt8]) -> Int {
        do throws(Errno) {
            let n = try fd.read(into: &buffer)
            if n == 0 { fd.close() }
            return n
        } catch {
            if !error.wouldBlock { fd.close() }
            return 0
        }
    }
}
