import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct ReaperTests {
    @Test func theChildListNamesAChildOfThisProcess() {
        var pid: pid_t = 0
        let argv = CStringArray(["/bin/sleep", "5"])
        guard posix_spawn(&pid, "/bin/sleep", nil, nil, argv.pointers, environ) == 0 else { return }
        defer { kill(pid, SIGKILL); var st: Int32 = 0; waitpid(pid, &st, 0) }
        guard let pids = Reaper.childList(of: getpid()) else { return }  // kernel without the files: the /proc scan is used
        #expect(pids.contains(pid))
        #expect(Reaper.children(in: ProcNamespace.current(), host: getpid()).contains { $0.stat.pid == pid && $0.stat.ppid == getpid() })
    }
}
