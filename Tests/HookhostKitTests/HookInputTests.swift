import HookEvent
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct HookInputTests {
    @Test func deliveryFileNameIsOneSafePathComponent() {
        #expect(HookInput.Delivery(id: "wh_msg_0001", receivedAt: "").fileName == "wh_msg_0001")
        #expect(HookInput.Delivery(id: "../../etc/passwd", receivedAt: "").fileName == "_.._.._etc_passwd")
        #expect(HookInput.Delivery(id: ".hidden", receivedAt: "").fileName == "_.hidden")
        #expect(HookInput.Delivery(id: "", receivedAt: "").fileName == "_")
        #expect(HookInput.safeFileName("café/🎬") == "caf___")
        #expect(HookInput.safeFileName(String(repeating: "a", count: 300)).count == 200)
    }
}
