import CSys
import Glibc
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

/// One step of ending a process group that overran its time: send a signal, or give it time.
public enum TeardownStep: Sendable, Equatable {
    case signal(Int32)
    case wait(Double)

    /// SIGTERM, 2 s to clean up, then SIGKILL.
    public static let standard: [TeardownStep] = [.signal(SIGTERM), .wait(2), .signal(SIGKILL)]

    /// Shutdown: SIGTERM, `grace` seconds to finish, then SIGKILL.
    public static func shutdown(grace: Double) -> [TeardownStep] { [.signal(SIGTERM), .wait(grace), .signal(SIGKILL)] }
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

/// The program could not be started (posix_spawn, fork or exec failed); `code` is the errno.
public struct SpawnError: Error, Equatable, CustomStringConvertible {
    public let executable: String
    public let code: Int32
    public init(executable: String, code: Int32) { self.executable = executable; self.code = code }
    public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    /// Out of descriptors, processes or memory: the host's trouble, not the function's.
    public var isResourceShortage: Bool { [EMFILE, ENFILE, EAGAIN, ENOMEM].contains(code) }
}

/// Launches processes; a protocol so the dispatcher can be tested with a double.
public protocol ProcessLauncher: Sendable {
    func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult
}

/// Starts each function in a new process group with only descriptors 0/1/2 and default signal
/// dispositions: posix_spawn as the host's user, or fork + exec (`hh_fork_exec_as`) when
/// functions run as another user, which posix_spawn cannot do. On timeout SIGTERM to the group,
/// then SIGKILL after a grace period. When the leader exits, whatever its group left running is
/// killed while the leader is still an unreaped zombie (its pid and group id cannot be reused
/// yet), and only then is it reaped; with a `Reaper`, orphans outside the group go too.
public struct PosixProcessLauncher: ProcessLauncher {
    public let user: FunctionUser?
    public let reaper: Reaper?

    public init(user: FunctionUser? = nil, reaper: Reaper? = nil) {
        self.user = user
        self.reaper = reaper
    }

    public func run(_ spec: ProcessSpec) throws(SpawnError) -> ProcessResult {
        let started = monotonicNow()
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard hh_pipe2(&inPipe) == 0 else { throw SpawnError(executable: spec.executable, code: errno) }
        guard hh_pipe2(&outPipe) == 0 else { let e = errno; closeAll(inPipe); throw SpawnError(executable: spec.executable, code: e) }
        guard hh_pipe2(&errPipe) == 0 else { let e = errno; closeAll(inPipe + outPipe); throw SpawnError(executable: spec.executable, code: e) }

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(spec.executable), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = spec.environment.map { strdup($0) } + [nil]
        defer { for p in argv + envp { free(p) } }
        let spawn = { () throws(SpawnError) -> Int32 in
            var pid: pid_t = 0
            let rc = (spec.user ?? self.user).map { u in
                hh_fork_exec_as(spec.executable, argv, envp, inPipe[0], outPipe[1], errPipe[1], spec.workingDirectory, u.uid, u.gid, &pid)
            } ?? self.posixSpawn(spec, argv, envp, stdin: inPipe[0], stdout: outPipe[1], stderr: errPipe[1], pid: &pid)
            guard rc == 0 else { throw SpawnError(executable: spec.executable, code: rc) }
            return pid
        }
        let pid: Int32
        do {
            if let reaper { pid = try reaper.spawning(delivery: spec.delivery, spawn) } else { pid = try spawn() }
        } catch {
            closeAll(inPipe + outPipe + errPipe)
            throw error
        }
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        spec.onStart?(pid)
        return supervise(pid: pid, stdinFD: inPipe[1], stdoutFD: outPipe[0], stderrFD: errPipe[0], spec: spec, started: started)
    }

    /// posix_spawn with the pipes as 0/1/2 and every other descriptor closed — including ones
    /// the host inherited without close-on-exec. Returns 0 or an errno.
    private func posixSpawn(_ spec: ProcessSpec, _ argv: [UnsafeMutablePointer<CChar>?], _ envp: [UnsafeMutablePointer<CChar>?],
                            stdin: Int32, stdout: Int32, stderr: Int32, pid: inout pid_t) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        _ = hh_spawn_addclosefrom(&actions, 3)
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
        return posix_spawn(&pid, spec.executable, &actions, &attr, argv, envp)
    }

    private func supervise(pid: pid_t, stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32, spec: ProcessSpec, started: Double) -> ProcessResult {
        var stdinFD = stdinFD, stdoutFD = stdoutFD, stderrFD = stderrFD
        for fd in [stdinFD, stdoutFD, stderrFD] { _ = hh_fcntl_setfl_nonblock(fd) }
        let pidfd = hh_pidfd_open(pid)
        var stdout: [UInt8] = [], stderrTail: [UInt8] = []
        var truncated = false
        var written = 0
        var status: ProcessResult.Termination?
        var timedOut = false
        var teardown = spec.teardown[...]
        var nextStepAt: Double?
        var exitedAt: Double?
        let deadline = started + spec.timeout
        var buf = [UInt8](repeating: 0, count: 65536)
        if spec.stdin.isEmpty { close(stdinFD); stdinFD = -1 }

        while true {
            let now = monotonicNow()
            if status == nil && !timedOut && now >= deadline {
                timedOut = true
                nextStepAt = now
            }
            // The leader is not reaped until after the teardown, so `pid` still names our group.
            while status == nil, let at = nextStepAt, now >= at, let step = teardown.popFirst() {
                switch step {
                case .signal(let sig): killpg(pid, sig)
                case .wait(let seconds): nextStepAt = now + seconds
                }
            }
            if teardown.isEmpty { nextStepAt = nil }
            if status == nil {
                // Not reaped here: the zombie keeps the group id ours until the group is killed.
                var code: Int32 = -1, sig: Int32 = -1
                let r = hh_exited_nowait(pid, &code, &sig)
                if r == 1 { status = code >= 0 ? .exited(code) : .signaled(sig); exitedAt = now }
                // ECHILD: reaped by someone else (cannot happen while the reaper owns it); do not spin.
                if r < 0 && errno == ECHILD { status = .signaled(0); exitedAt = now }
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
            if status == nil { waitMs = min(waitMs, max(1, Int(((nextStepAt ?? (timedOut ? now + 1 : deadline)) - now) * 1000) + 1)) }
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
        // Leave nothing of the group behind (background children, a hung grandchild). The leader
        // is an unreaped zombie here, so `pid` still names this group and no other.
        killpg(pid, SIGKILL)
        for fd in [stdinFD, stdoutFD, stderrFD, pidfd] where fd >= 0 { close(fd) }
        spec.onExit?(pid)
        if let reaper { reaper.release(pid) } else {
            var st: Int32 = 0
            while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        }
        let termination = timedOut ? .timedOut : (status ?? .exited(0))
        return ProcessResult(termination: termination, stdout: stdout, stdoutTruncated: truncated, stderrTail: stderrTail,
                             duration: monotonicNow() - started, pid: pid)
    }

    private func closeAll(_ fds: [Int32]) { for fd in fds where fd >= 0 { close(fd) } }
}
