import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FunctionInputTests {
    @Test func stdinDocumentIsExactlyTheContract() throws {
        let body = bytes(#"{"type":"batch.succeeded", "data":{"id":"batches/abc123","n":123456789012345678901,"user_metadata":{"job_group":"nightly", "p":1}}}"#)
        let parsed = try JSONParser.parse(body)
        let out = FunctionInput.encode(id: "wh_msg_0001", attempt: 2, receivedAt: 1777896001.123, verifiedBy: .hmac, type: "batch.succeeded",
                                       body: body, userMetadata: FunctionInput.userMetadata(body: body, parsed: parsed), result: nil)
        let expected = #"{"contract":1,"delivery":{"id":"wh_msg_0001","attempt":2,"received_at":"2026-05-04T12:00:01.123Z","verified_by":"hmac"},"type":"batch.succeeded","event":"#
            + String(decoding: body, as: UTF8.self) + #","user_metadata":{"job_group":"nightly", "p":1},"result":null}"# + "\n"
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    @Test func whitespaceAroundTheBodyIsNotPartOfTheEmbeddedEvent() {
        let out = FunctionInput.encode(id: "i", attempt: 1, receivedAt: 0, verifiedBy: .hmac, type: "t",
                                       body: bytes(" \r\n{\"type\":\"t\",\n \"a\":1}\n\n"), userMetadata: nil, result: nil)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains(#""event":{"type":"t","# + "\n" + #" "a":1},"user_metadata""#))
        #expect(text.hasSuffix("}\n") && !text.dropLast().hasSuffix("\n"))
    }

    @Test func userMetadataFallsBackToTopLevelThenNull() throws {
        let top = bytes(#"{"type":"x","user_metadata":{"a":1},"data":{}}"#)
        #expect(FunctionInput.userMetadata(body: top, parsed: try JSONParser.parse(top)).map { Array($0) } == bytes(#"{"a":1}"#))
        let none = bytes(#"{"type":"x","data":{"user_metadata":null}}"#)
        #expect(FunctionInput.userMetadata(body: none, parsed: try JSONParser.parse(none)) == nil)
    }

    // The key id and claims of a JWT delivery travel from admission through the spool to stdin.
    @Test func stdinCarriesKeyIDAndClaimsForJWTOnly() {
        let jwt = FunctionInput.encode(id: "i", attempt: 1, receivedAt: 0, verifiedBy: .jwt, jwt: sampleJWTIdentity, type: "t",
                                       body: bytes(#"{"type":"t"}"#), userMetadata: nil, result: nil)
        #expect(String(decoding: jwt, as: UTF8.self).contains(
            #""verified_by":"jwt","key_id":"key-1","claims":{"iss":"https://x","deep":[[[{"a":"\u00e9"}]]]}},"type""#))
        let hmac = FunctionInput.encode(id: "i", attempt: 1, receivedAt: 0, verifiedBy: .hmac, type: "t",
                                        body: bytes(#"{"type":"t"}"#), userMetadata: nil, result: nil)
        let text = String(decoding: hmac, as: UTF8.self)
        #expect(!text.contains("key_id") && !text.contains("claims"))
    }
}
