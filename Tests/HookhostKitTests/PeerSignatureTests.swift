import Testing
@testable import HookSupport
@testable import HookVerify

@Suite struct PeerSignatureTests {
    static let secret = try! PeerSecret("whsec_" + Base64.encode(Array(repeating: 7, count: 32)))
    static let body = Array(#"{"v":1,"id":"wh_1"}"#.utf8)
    static let now: Double = 1_800_000_000

    func verify(secret: PeerSecret = secret, id: String? = "wh_1", timestamp: String? = "1800000000", signature: String?,
                body: [UInt8] = body) -> PeerSignatureError? {
        do { try PeerSignature.verify(secret: secret, id: id, timestamp: timestamp, signature: signature, body: body, now: Self.now) } catch {
            return error
        }
        return nil
    }

    var good: String { PeerSignature.sign(secret: Self.secret, id: "wh_1", timestamp: "1800000000", body: Self.body) }

    @Test func aSignatureItMadeVerifies() {
        #expect(verify(signature: good) == nil)
        #expect(verify(signature: "v1,AAAA " + good) == nil, "any v1 entry may match")
    }

    @Test func aWrongSecretIsRefused() throws {
        let other = try PeerSecret("another-secret-that-is-long-enough-32-bytes")
        #expect(verify(secret: other, signature: good) == .noMatchingSignature)
    }

    @Test func aTamperedBodyOrIdIsRefused() {
        var b = Self.body
        b[5] ^= 1
        #expect(verify(signature: good, body: b) == .noMatchingSignature)
        #expect(verify(id: "wh_2", signature: good) == .noMatchingSignature)
    }

    @Test func staleOrFutureTimestampsAreRefused() {
        let old = PeerSignature.sign(secret: Self.secret, id: "wh_1", timestamp: "1799999000", body: Self.body)
        #expect(verify(timestamp: "1799999000", signature: old) == .timestampTooOld)
        let future = PeerSignature.sign(secret: Self.secret, id: "wh_1", timestamp: "1800001000", body: Self.body)
        #expect(verify(timestamp: "1800001000", signature: future) == .timestampTooNew)
        #expect(verify(timestamp: "18e8", signature: good) == .invalidTimestamp)
    }

    @Test func missingHeadersAreNamed() {
        #expect(verify(id: nil, signature: good) == .missingHeader("webhook-id"))
        #expect(verify(timestamp: nil, signature: good) == .missingHeader(PeerHeader.timestamp))
        #expect(verify(signature: nil) == .missingHeader(PeerHeader.signature))
    }

    @Test func secretsAreCheckedForLength() {
        #expect(throws: PeerSecretError.tooShort(bytes: 5)) { try PeerSecret("short") }
        #expect(throws: PeerSecretError.keyTooShort(bytes: 3)) { try PeerSecret("whsec_AAAA") }
        #expect(throws: PeerSecretError.invalidBase64) { try PeerSecret("whsec_!!!!") }
        #expect(throws: PeerSecretError.controlCharacters) { try PeerSecret("a secret with spaces that is long enough") }
        #expect((try? PeerSecret(String(repeating: "x", count: 32))) != nil)
    }
}
