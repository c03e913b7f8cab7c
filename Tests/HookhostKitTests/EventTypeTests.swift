import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct EventTypeTests {
    @Test(arguments: ["batch.succeeded", "video.generated", "ping", "a-b_c.d9", String(repeating: "a", count: 128)])
    func validTypes(_ t: String) { #expect(EventType.isValid(t)) }

    @Test(arguments: ["", ".batch", "batch.", "a..b", "../etc/passwd", "a/b", "a\0b", "a b", "é", String(repeating: "a", count: 129), "_default/x", "..", "."])
    func invalidTypes(_ t: String) { #expect(!EventType.isValid(t)) }

    @Test func candidatesAndAlias() {
        #expect(EventType.candidates("batch.succeeded") == ["batch.succeeded", "batch", "_default"])
        #expect(EventType.candidates("ping") == ["ping", "_default"])
        #expect(EventType.canonical("batch.completed") == "batch.succeeded")
        #expect(EventType.canonical("batch.failed") == "batch.failed")
    }
}
