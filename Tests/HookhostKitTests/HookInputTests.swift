import Foundation
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

@Suite struct HookInputChainTests {
    @Test func anEmittedEventCarriesItsParentRootAndDepth() throws {
        let doc = #"{"contract":1,"delivery":{"id":"wh_1.e3","attempt":1,"received_at":"2026-05-04T12:00:01Z","verified_by":"parent","parent":"wh_1","root":"wh_1","depth":1},"type":"app.batch.retry","event":{"type":"app.batch.retry","data":{"key":"k"},"user_metadata":{"job_group":"g"}},"user_metadata":{"job_group":"g"},"result":null}"#
        let input = try HookInput.decode(from: Data(doc.utf8))
        #expect(input.delivery.verifiedBy == "parent" && input.delivery.isEmitted)
        #expect(input.delivery.parent == "wh_1" && input.delivery.root == "wh_1" && input.delivery.depth == 1)
        #expect(input.event.data["key"]?.stringValue == "k" && input.metadata?["job_group"] == "g")
    }

    @Test func aWebhookHasNoChain() throws {
        let doc = #"{"contract":1,"delivery":{"id":"wh_1","attempt":2,"received_at":"2026-05-04T12:00:01Z","verified_by":"hmac"},"type":"batch.succeeded","event":{"type":"batch.succeeded","data":{}},"user_metadata":null,"result":null}"#
        let input = try HookInput.decode(from: Data(doc.utf8))
        #expect(!input.delivery.isEmitted && input.delivery.root == nil && input.delivery.depth == nil)
    }

    @Test func aChainFieldOfTheWrongTypeIsNamed() {
        let doc = #"{"contract":1,"delivery":{"id":"x","attempt":1,"received_at":"","verified_by":"parent","depth":"one"},"type":"a.b","event":{"type":"a.b","data":{}}}"#
        #expect(throws: HookInputError.wrongType(path: "delivery.depth", expected: "a number")) {
            try HookInput.decode(from: Data(doc.utf8))
        }
    }
}
