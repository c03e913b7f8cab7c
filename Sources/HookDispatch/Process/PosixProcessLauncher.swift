import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

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
        // Each end is closed when it goes out of scope: the child's ends once it has them (or
        // the spawn failed), the host's when the run is over.
        var stdin = try pipe(for: spec), stdout = try pipe(for: spec), stderr = try pipe(for: spec)
        let argv = CStringArray([spec.executable]), envp = CStringArray(spec.environment)
        let child = (stdin: stdin.readEnd.raw, stdout: stdout.writeEnd.raw, stderr: stderr.writeEnd.raw)
        let spawn = { () throws(SpawnError) -> Int32 in
            var pid: pid_t = 0
            let rc = (spec.user ?? self.user).map { u in
                hh_fork_exec_as(spec.executable, argv.pointers, envp.pointers, child.stdin, child.stdout, child.stderr,
                                spec.workingDirectory, u.uid, u.gid, &pid)
            } ?? self.posixSpawn(spec, argv, envp, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, pid: &pid)
            guard rc == 0 else { throw SpawnError(executable: spec.executable, code: rc) }
            return pid
        }
        let pid: Int32
        if let reaper { pid = try reaper.spawning(delivery: spec.delivery, spawn) } else { pid = try spawn() }
        stdin.readEnd.close()
        stdout.writeEnd.close()
        stderr.writeEnd.close()
        spec.onStart?(pid)
        let pump = ProcessPump(stdin: stdin.writeEnd.take(), stdout: stdout.readEnd.take(), stderr: stderr.readEnd.take(),
                               pidfd: FD(hh_pidfd_open(pid)), input: spec.stdin,
                               output: ProcessOutput(stdoutLimit: spec.stdoutLimit, stderrLimit: spec.stderrLimit))
        return supervise(pid: pid, pump: pump, spec: spec, started: started)
    }

    private func pipe(for spec: ProcessSpec) throws(SpawnError) -> FD.Pipe {
        do { return try FD.pipe() } catch { throw SpawnError(executable: spec.executable, code: error.code) }
    }

    /// posix_spawn with the pipes as 0/1/2 and every other descriptor closed — including ones
    /// the host inherited without close-on-exec. Returns 0 or an errno.
    private func posixSpawn(_ spec: ProcessSpec, _ argv: CStringArray, _ envp: CStringArray,
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
        return posix_spawn(&pid, spec.executable, &actions, &attr, argv.pointers, envp.pointers)
    }
}
