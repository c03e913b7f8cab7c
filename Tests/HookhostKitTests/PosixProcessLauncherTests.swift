import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct PosixProcessLauncherTests {
    let launcher = PosixProcessLauncher()

    func script(_ body: String) -> String {
        let dir = makeTempDir("proc")
        writeFile(dir + "/run", "#!/bin/sh\n" + body, mode: 0o755)
        return dir + "/run"
    }

    @Test func passesStdinEnvAndCapturesOutputs() throws {
        let path = script("cat; echo \"[$FOO]\"; echo err >&2; exit 3\n")
        let r = try launcher.run(ProcessSpec(executable: path, environment: ["FOO=bar", "PATH=/usr/bin:/bin"], stdin: bytes("in\n"), timeout: 10))
        #expect(r.termination == .exited(3))
        #expect(String(decoding: r.stdout, as: UTF8.self) == "in\n[bar]\n")
        #expect(String(decoding: r.stderrTail, as: UTF8.self) == "err\n")
    }

    @Test func environmentIsExactlyWhatWasGiven() throws {
        let path = script("env\n")
        let r = try launcher.run(ProcessSpec(executable: path, environment: ["A=1"], timeout: 10))
        let vars = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("PWD=") }
        #expect(vars == ["A=1"])
    }

    @Test func timeoutKillsTheWholeProcessGroup() throws {
        let dir = makeTempDir("proc")
        let path = script("sleep 1000 &\necho $! > \(dir)/child\nsleep 1000\n")
        let start = monotonicNow()
        let r = try launcher.run(ProcessSpec(executable: path, environment: ["PATH=/usr/bin:/bin"], timeout: 0.5))
        #expect(r.termination == .timedOut)
        #expect(monotonicNow() - start < 5)
        let child = Int32(String(decoding: FileSystem.read(dir + "/child") ?? [], as: UTF8.self).trimmingSpaces) ?? 0
        #expect(child > 0)
        usleep(100_000)
        // Gone, or a zombie waiting for a reaper (a container's PID 1 may not reap).
        let stat = String(decoding: FileSystem.read("/proc/\(child)/stat") ?? [], as: UTF8.self)
        #expect(stat.isEmpty || stat.contains(") Z "))
    }

    @Test func teardownIsDataAndEndsAProcessThatIgnoresSIGTERM() throws {
        let path = script("trap 'echo term' TERM\necho started\nwhile :; do sleep 0.05; done\n")
        var spec = ProcessSpec(executable: path, environment: ["PATH=/usr/bin:/bin"], timeout: 0.3)
        spec.teardown = [.signal(SIGTERM), .wait(0.3), .signal(SIGKILL)]
        let r = try launcher.run(spec)  // returns only because SIGKILL followed the wait step
        #expect(r.termination == .timedOut)
        #expect(String(decoding: r.stdout, as: UTF8.self).hasPrefix("started\n"))
    }

    @Test func functionThatClosesStdinEarlyDoesNotHurtTheHost() throws {
        signal(SIGPIPE, SIG_IGN)
        let path = script("exec 0<&-\necho ok\n")
        let r = try launcher.run(ProcessSpec(executable: path, environment: [], stdin: [UInt8](repeating: 0x41, count: 4 << 20), timeout: 10))
        #expect(r.termination == .exited(0))
    }

    @Test func stdoutIsBounded() throws {
        let path = script("head -c 3000000 /dev/zero\n")
        var spec = ProcessSpec(executable: path, environment: ["PATH=/usr/bin:/bin"], timeout: 10)
        spec.stdoutLimit = 1000
        let r = try launcher.run(spec)
        #expect(r.stdout.count == 1000)
        #expect(r.stdoutTruncated)
        #expect(r.termination == .exited(0))
    }

    @Test func missingExecutableIsASpawnError() {
        #expect(throws: SpawnError.self) { try launcher.run(ProcessSpec(executable: "/nonexistent/fn", environment: [], timeout: 1)) }
    }

    @Test func signalledProcess() throws {
        let path = script("kill -9 $$\n")
        #expect(try launcher.run(ProcessSpec(executable: path, environment: [], timeout: 10)).termination == .signaled(9))
    }

    @Test func descriptorsTheHostInheritedAreNotPassedOn() throws {
        // As if the host's parent left a descriptor open without close-on-exec.
        let devnull = open("/dev/null", O_RDONLY)
        let leaked = dup2(devnull, 211)
        close(devnull)
        defer { close(leaked) }
        #expect(leaked == 211)
        let r = try launcher.run(ProcessSpec(executable: script("exec ls /proc/self/fd\n"), environment: ["PATH=/usr/bin:/bin"], timeout: 10))
        let fds = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(!fds.contains(211))
        #expect(Array(fds.prefix(3)) == [0, 1, 2] && fds.count <= 4, "\(fds)")  // ls opens one for the directory
    }

    @Test func theGroupIsKilledWhileTheLeaderIsStillUnreaped() throws {
        let dir = makeTempDir("proc")
        let path = script("sleep 1000 &\necho $! > \(dir)/child\nexit 0\n")
        var spec = ProcessSpec(executable: path, environment: ["PATH=/usr/bin:/bin"], timeout: 10)
        let seen = Mutex<String>("")
        spec.onExit = { pid in
            // Until this returns the leader is a zombie: its pid (and group id) cannot be reused,
            // so whoever still holds it may signal it safely.
            let stat = String(decoding: FileSystem.read("/proc/\(pid)/stat") ?? [], as: UTF8.self)
            seen.withLock { $0 = ProcStat(line: stat).map { String($0.state) } ?? "gone" }
        }
        let r = try launcher.run(spec)
        #expect(r.termination == .exited(0))
        #expect(seen.withLock { $0 } == "Z")
        let child = Int32(String(decoding: FileSystem.read(dir + "/child") ?? [], as: UTF8.self).filter { !$0.isWhitespace }) ?? 0
        #expect(child > 0)
        usleep(100_000)
        let stat = String(decoding: FileSystem.read("/proc/\(child)/stat") ?? [], as: UTF8.self)
        #expect(stat.isEmpty || stat.contains(") Z "))
    }

    // --- fork path (functions as another user) ---

    var isRoot: Bool { geteuid() == 0 }

    /// A script in a 0755 directory, so another user can run it.
    func openScript(_ body: String) -> String {
        let path = script(body)
        chmod(String(path.dropLast(4)), 0o755)
        return path
    }

    @Test func forkPathRunsAsTheUserWithOnlyThreeDescriptorsInItsOwnGroup() throws {
        guard isRoot else { return }
        let nobody = PosixProcessLauncher(user: FunctionUser(uid: 65534, gid: 65534, spelling: "65534:65534"))
        let leaked = dup2(1, 212)
        defer { close(leaked) }
        let path = openScript("cat; id -u; id -g; id -G; echo \"[$FOO]\"; ls /proc/self/fd | tr '\\n' ' '; echo; cut -d' ' -f1,5 /proc/$$/stat; echo err >&2; exit 4\n")
        let r = try nobody.run(ProcessSpec(executable: path, environment: ["FOO=bar", "PATH=/usr/bin:/bin"], workingDirectory: "/",
                                           stdin: bytes("in\n"), timeout: 10))
        #expect(r.termination == .exited(4))
        let lines = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 7)
        guard lines.count == 7 else { return }
        #expect(Array(lines[0...4]) == ["in", "65534", "65534", "65534", "[bar]"])
        #expect(!lines[5].split(separator: " ").contains("212"), "\(lines[5])")
        #expect(lines[5].split(separator: " ").count <= 4, "\(lines[5])")
        let ids = lines[6].split(separator: " ")
        #expect(ids.count == 2 && ids[0] == ids[1], "own process group: \(lines[6])")
        #expect(String(decoding: r.stderrTail, as: UTF8.self) == "err\n")
    }

    @Test func forkPathExecFailureIsASpawnErrorNotExit127() {
        guard isRoot else { return }
        let nobody = PosixProcessLauncher(user: FunctionUser(uid: 65534, gid: 65534, spelling: "65534:65534"))
        #expect(throws: SpawnError(executable: "/nonexistent/fn", code: ENOENT)) {
            try nobody.run(ProcessSpec(executable: "/nonexistent/fn", environment: [], timeout: 1))
        }
        // 0700 directory of root: nobody may not run what is inside.
        let hidden = script("exit 0\n")
        #expect(throws: SpawnError(executable: hidden, code: EACCES)) {
            try nobody.run(ProcessSpec(executable: hidden, environment: [], timeout: 1))
        }
    }

    @Test func forkPathTimeoutKillsTheGroup() throws {
        guard isRoot else { return }
        let nobody = PosixProcessLauncher(user: FunctionUser(uid: 65534, gid: 65534, spelling: "65534:65534"))
        let start = monotonicNow()
        let r = try nobody.run(ProcessSpec(executable: openScript("sleep 1000 & sleep 1000\n"), environment: ["PATH=/usr/bin:/bin"], timeout: 0.3))
        #expect(r.termination == .timedOut)
        #expect(monotonicNow() - start < 5)
    }
}
