import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// `tuneMalloc` calls mallopt after glibc has read MALLOC_* and GLIBC_TUNABLES, so whatever it
/// sets overrides the operator's own malloc settings. It must leave alone what the operator set.
@Suite struct MallocTuningTests {
    static func env(_ vars: [String: String]) -> (String) -> String? { { vars[$0] } }

    @Test func tunesBothWithoutOperatorSettings() {
        let p = MallocTuning.plan(environment: MallocTuningTests.env([:]))
        #expect(p.arenas == 2)
        #expect(p.mmapThreshold == 128 << 10)
    }

    @Test func operatorMallocVariablesWin() {
        let p = MallocTuning.plan(environment: MallocTuningTests.env(["MALLOC_ARENA_MAX": "8", "MALLOC_MMAP_THRESHOLD_": "4096"]))
        #expect(p.arenas == nil)
        #expect(p.mmapThreshold == nil)
        let q = MallocTuning.plan(environment: MallocTuningTests.env(["MALLOC_ARENA_MAX": "1"]))
        #expect(q.arenas == nil)
        #expect(q.mmapThreshold == 128 << 10)
    }

    @Test func operatorGlibcTunablesWin() {
        let p = MallocTuning.plan(environment: MallocTuningTests.env(["GLIBC_TUNABLES": "glibc.malloc.arena_max=4:glibc.malloc.mmap_threshold=65536"]))
        #expect(p.arenas == nil)
        #expect(p.mmapThreshold == nil)
        let q = MallocTuning.plan(environment: MallocTuningTests.env(["GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"]))
        #expect(q.arenas == 2)
        #expect(q.mmapThreshold == 128 << 10)
    }
}
