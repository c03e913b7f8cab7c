import CSys
import Glibc

/// What to run: the executable, its exact environment, stdin, and its limits.
public struct ProcessSpec: Sendable {
    public var executable: String
    public var environment: [String]
    public var workingDirectory: String?
    public var stdin: [UInt8]
    /// Seconds before the process group gets SIGTERM.
    public var timeout: Double
    /// Seconds between SIGTERM and SIGKILL.
    public var killGrace: Double = 2
    public var stdoutLimit = 1 << 20
    public var stderrLimit = 64 << 10
    /// Called with the pid right after the spawn (so shutdown can kill the group).
    public var onStart: (@Sendable (Int32) -> Void)?

    public init(executable: String, environment: [String], workingDirectory: String? = nil, stdin: [UInt8] = [], timeout: Double) {
        self.executable = executable
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.timeout = timeout
    }
}

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

/// posix_spawn failed before the program ran.
public struct SpawnError: Error, CustomStringConvertible {
    public let executable: String
    public let code: Int32
    public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
}

/// Launches processes; a protocol so the dispatcher can be tested with a double.
public protocol ProcessLauncher: Sendable {
    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult
}

/// posix_spawn in a new process group with close-on-exec descriptors and default signal
/// dispositions; on timeout SIGTERM to the group, then SIGKILL after a grace period. Whatever the
/// group left running when the main process exits is killed too.
public struct PosixProcessLauncher: ProcessLauncher {
    public init() {}

    public func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let started = monotonicNow()
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard hh_pipe2(&inPipe) == 0 else { throw SpawnError(executable: spec.executable, code: errno) }
        guard hh_pipe2(&outPipe) == 0 else { let e = errno; closeAll(inPipe); throw SpawnError(executable: spec.executable, code: e) }
        guard hh_pipe2(&errPipe) == 0 else { let e = errno; closeAll(inPipe + outPipe); throw SpawnError(executable: spec.executable, code: e) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let dir = spec.workingDirectory { _ = hh_spawn_addchdir(&actions, dir) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, HH_SPAWN_FLAGS)
        posix_spawnattr_setpgroup(&attr, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        // The host ignores SIGPIPE; ignored dispositions survive exec, so reset them for the child.
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(spec.executable), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = spec.environment.map { strdup($0) } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, spec.executable, &actions, &attr, argv, envp)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            closeAll([inPipe[1], outPipe[0], errPipe[0]])
            throw SpawnError(executable: spec.executable, code: rc)
        }
        spec.onStart?(pid)
        return supervise(pid: pid, stdinFD: inPipe[1], stdoutFD: outPipe[0], stderrFD: errPipe[0], spec: spec, started: started)
    }

    private func supervise(pid: pid_t, stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32, spec: ProcessSpec, started: Double) -> ProcessResult {
        var stdinFD = stdinFD, stdoutFD = stdoutFD, stderrFD = stderrFD
        for fd in [stdinFD, stdoutFD, stderrFD] { _ = hh_fcntl_setfl_nonblock(fd) }
        let pidfd = hh_pidfd_open(pid)
        var stdout: [UInt8] = [], stderrTail: [UInt8] = []
        var truncated = false
        var written = 0
        var status: Int32?
        var timedOut = false
        var killAt: Double?
        var exitedAt: Double?
        let deadline = started + spec.timeout
        var buf = [UInt8](repeating: 0, count: 65536)
        if spec.stdin.isEmpty { close(stdinFD); stdinFD = -1 }

        while true {
            let now = monotonicNow()
            if status == nil && !timedOut && now >= deadline {
                timedOut = true
                killpg(pid, SIGTERM)
                killAt = now + spec.killGrace
            }
            if let k = killAt, now >= k, status == nil { killpg(pid, SIGKILL); killAt = nil }
            if status == nil {
                var st: Int32 = 0
                let r = waitpid(pid, &st, WNOHANG)
                if r == pid { status = st; exitedAt = now }
            }
            if let e = exitedAt {
                // The main process is gone: stop once its pipes are drained, or after a short grace
                // when a stray background child still holds them open.
                if (stdoutFD < 0 && stderrFD < 0) || now - e > 0.5 { break }
            }
            var fds: [pollfd] = []
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if pidfd >= 0 && status == nil { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            var waitMs = status == nil ? (pidfd >= 0 ? 1000 : 20) : 50
            if status == nil { waitMs = min(waitMs, max(1, Int(((killAt ?? (timedOut ? now + 1 : deadline)) - now) * 1000) + 1)) }
            _ = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), Int32(waitMs)) }
            for p in fds where p.revents != 0 {
                if p.fd == stdinFD {
                    let n = spec.stdin.withUnsafeBytes { write(stdinFD, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n }
                    // EPIPE: the function closed stdin early; that is its business.
                    if written >= spec.stdin.count || (n < 0 && errno != EAGAIN && errno != EINTR) { close(stdinFD); stdinFD = -1 }
                } else if p.fd == stdoutFD || p.fd == stderrFD {
                    let isOut = p.fd == stdoutFD
                    let n = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        if isOut {
                            let room = spec.stdoutLimit - stdout.count
                            if room > 0 { stdout += buf[0..<min(n, room)] }
                            if n > room { truncated = true }
                        } else {
                            stderrTail += buf[0..<n]
                            if stderrTail.count > spec.stderrLimit { stderrTail.removeFirst(stderrTail.count - spec.stderrLimit) }
                        }
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        close(p.fd)
                        if isOut { stdoutFD = -1 } else { stderrFD = -1 }
                    }
                }
            }
        }
        // Leave nothing of the group behind (background children, a hung grandchild).
        killpg(pid, SIGKILL)
        for fd in [stdinFD, stdoutFD, stderrFD, pidfd] where fd >= 0 { close(fd) }
        let st = status ?? 0
        let termination: ProcessResult.Termination
        if timedOut { termination = .timedOut } else if hh_wifexited(st) != 0 { termination = .exited(hh_wexitstatus(st)) } else { termination = .signaled(hh_wtermsig(st)) }
        return ProcessResult(termination: termination, stdout: stdout, stdoutTruncated: truncated, stderrTail: stderrTail,
                             duration: monotonicNow() - started, pid: pid)
    }

    private func closeAll(_ fds: [Int32]) { for fd in fds where fd >= 0 { close(fd) } }
}
