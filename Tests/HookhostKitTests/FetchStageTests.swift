import Testing
@testable import HookDispatch
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookhostKit

@Suite struct FetchStageTests {
    /// The result janitor ran every `min(60, keep)` seconds: `HOOKHOST_KEEP_RESULTS=1e-300` (in
    /// range: any positive number) made it a busy loop over the results directory.
    @Test(arguments: [(1e-300, 1.0), (0.001, 1.0), (5, 5), (3600, 60), (365 * 86_400, 60)] as [(Double, Double)])
    func theJanitorLooksAtMostOnceASecondAndAtLeastOnceAMinute(_ pair: (Double, Double)) {
        #expect(FetchStage.janitorInterval(keep: pair.0) == pair.1)
    }
}
