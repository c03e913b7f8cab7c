import Glibc
import Testing
@testable import HookhostKit

@Suite struct ProcessRunnerTests {
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
}
