import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The signer `send` and `demo` use: it must produce the PROTOCOL §6 vectors exactly, and what it
/// signs must be what the verifier accepts.
@Suite struct WebhookSignerTests {
    static let vectors: [(secret: String, id: String, timestamp: String, body: String, signature: String)] = [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", #"{"test": 2432232314}"#,
         "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        ("whsec_azN2OXgwcTJtN3A0dDh3MXo2YzViMG4ycjl5NGg3ajM=", "wh_msg_0001", "1777896000",
         #"{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123"}}"#,
         "v1,C67khFY9Ak46w29CjXoVjkzXEv5eig83CRpvhbEcowA="),
        ("whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXY=", "wh_msg_0001", "1777896000",
         #"{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123"}}"#,
         "v1,+imAMLZnkVUFsvVV6NrmooqI2W4QKAX8nGkuKCRnE2E="),
    ]

    @Test(arguments: 0..<vectors.count)
    func producesTheProtocolVectors(_ i: Int) throws {
        let v = Self.vectors[i]
        #expect(WebhookSigner.signature(secret: try WebhookSecret(v.secret), id: v.id, timestamp: v.timestamp, body: bytes(v.body)) == v.signature)
    }

    @Test func headersRoundTripThroughTheVerifier() throws {
        let secret = WebhookSecret(key: Array("0123456789abcdefghijklmnopqrstuv".utf8))
        let body = bytes(#"{"type":"ping"}"#)
        let headers = WebhookSigner.headers(secret: secret, id: "msg_1", timestamp: "1777896000", body: body)
        #expect(headers.map(\.0) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        let h = Dictionary(uniqueKeysWithValues: headers)
        #expect(h["webhook-signature"]?.utf8.count == 47)  // "v1," + 44 characters of padded base64
        let verifier = WebhookVerifier(secrets: [secret], tolerance: 300, clock: FixedClock(1777896000))
        try verifier.verify(id: h["webhook-id"], timestamp: h["webhook-timestamp"], signature: h["webhook-signature"], body: body)
        #expect(throws: VerificationError.noMatchingSignature) {
            try verifier.verify(id: h["webhook-id"], timestamp: h["webhook-timestamp"], signature: h["webhook-signature"], body: body + [0x20])
        }
    }
}
