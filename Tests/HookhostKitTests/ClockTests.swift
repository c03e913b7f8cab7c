import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct ClockTests {
    @Test func timestampFormatting() {
        #expect(formatTimestamp(1777896000) == "2026-05-04T12:00:00.000Z")
        #expect(formatTimestamp(1777896001.9999) == "2026-05-04T12:00:02.000Z")
        #expect(formatTimestamp(1777896001.0004) == "2026-05-04T12:00:01.000Z")
    }
}
