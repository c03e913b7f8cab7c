import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookDispatch
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch

@Suite struct FlowKeyPathTests {
    func metadata(_ text: String) -> JSON { try! JSONParser.parse(Array(text.utf8)) }

    @Test func aKeyIsTheScalarAtThePathAndNoneOtherwise() throws {
        let path = try FlowKeyPath.parse("user_metadata.tenant.id").get()
        let m = metadata(#"{"tenant": {"id": "acme"}}"#)
        #expect(path.key(type: "batch.succeeded", userMetadata: m) == FlowKey(.string("acme")))
        // Numbers compare by value, and never equal a string.
        #expect(path.key(type: "t", userMetadata: metadata(#"{"tenant": {"id": 1}}"#))
                == path.key(type: "t", userMetadata: metadata(#"{"tenant": {"id": 1.0}}"#)))
        #expect(path.key(type: "t", userMetadata: metadata(#"{"tenant": {"id": 1}}"#))
                != path.key(type: "t", userMetadata: metadata(#"{"tenant": {"id": "1"}}"#)))
        // Missing, null, an object or an array, or no user_metadata: the shared none key — which
        // a delivery whose value is the string "none" does not share.
        for text in [#"{}"#, #"{"tenant": {"id": null}}"#, #"{"tenant": {"id": {"a": 1}}}"#, #"{"tenant": {"id": [1]}}"#, #"{"tenant": 5}"#] {
            #expect(path.key(type: "t", userMetadata: metadata(text)) == .none, "\(text)")
        }
        #expect(path.key(type: "t", userMetadata: nil) == .none)
        #expect(path.key(type: "t", userMetadata: metadata(#"{"tenant": {"id": "none"}}"#)) != .none)
    }

    @Test func theTypeRootKeysByEventType() throws {
        let path = try FlowKeyPath.parse("type").get()
        #expect(path.key(type: "batch.succeeded", userMetadata: nil) == FlowKey(.string("batch.succeeded")))
    }

    @Test func unsupportedPathsAreRefused() {
        #expect(FlowKeyPath.parse("data.id") == .failure(.unsupportedRoot))
        #expect(FlowKeyPath.parse("user_metadata") == .failure(.unsupportedRoot))
        #expect(FlowKeyPath.parse("user_metadata.a..b") == .failure(.emptySegment))
        #expect(FlowKeyPath.parse("user_metadata." + Array(repeating: "a", count: 17).joined(separator: ".")) == .failure(.tooManySegments(16)))
        #expect(FlowKeyPath.parse("user_metadata." + String(repeating: "a", count: 257)) == .failure(.tooLong(256)))
        #expect(FlowKeyPath.parse("user_metadata.a\u{1}") == .failure(.controlCharacter))
    }
}
