import Glibc
import Synchronization
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct ThreadsTests {
    @Test func startedThreadsBlockProcessSignalsWhateverTheStarterHad() {
        // The starter (a test thread) has SIGTERM open; the new thread must not.
        let blocked = Mutex<(term: Bool, hup: Bool)?>(nil)
        startThread(name: "sigmask-probe") {
            var cur = sigset_t()
            pthread_sigmask(SIG_BLOCK, nil, &cur)
            blocked.withLock { $0 = (sigismember(&cur, SIGTERM) == 1, sigismember(&cur, SIGHUP) == 1) }
        }.join()
        #expect(blocked.withLock { $0 }?.term == true)
        #expect(blocked.withLock { $0 }?.hup == true)
    }
}
