import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct WebhookVerifierTests {
    // PROTOCOL.md §6.
    let v1Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let v1Body = #"{"test": 2432232314}"#
    let v1Sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    let geminiSecret = "whsec_azN2OXgwcTJtN3A0dDh3MXo2YzViMG4ycjl5NGg3ajM="
    let rotatedSecret = "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXY="
    let geminiBody = #"{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123"}}"#
    let geminiSig = "v1,C67khFY9Ak46w29CjXoVjkzXEv5eig83CRpvhbEcowA="
    let rotatedSig = "v1,+imAMLZnkVUFsvVV6NrmooqI2W4QKAX8nGkuKCRnE2E="

    func verifier(_ secrets: [String], at t: Double) throws -> WebhookVerifier {
        WebhookVerifier(secrets: try secrets.map { try WebhookSecret($0) }, tolerance: 300, clock: FixedClock(t))
    }

    @Test func standardWebhooksVector() throws {
        let v = try verifier([v1Secret], at: 1614265330)
        try v.verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signature: v1Sig, body: bytes(v1Body))
    }

    @Test func geminiVector() throws {
        try verifier([geminiSecret], at: 1777896000).verify(id: "wh_msg_0001", timestamp: "1777896000", signature: geminiSig, body: bytes(geminiBody))
    }

    @Test func rotationEitherSecretAloneVerifiesTwoEntryHeader() throws {
        let both = "\(geminiSig) \(rotatedSig)"
        try verifier([geminiSecret], at: 1777896000).verify(id: "wh_msg_0001", timestamp: "1777896000", signature: both, body: bytes(geminiBody))
        try verifier([rotatedSecret], at: 1777896000).verify(id: "wh_msg_0001", timestamp: "1777896000", signature: both, body: bytes(geminiBody))
        try verifier([rotatedSecret], at: 1777896000).verify(id: "wh_msg_0001", timestamp: "1777896000", signature: rotatedSig, body: bytes(geminiBody))
        try verifier([v1Secret, rotatedSecret], at: 1777896000).verify(id: "wh_msg_0001", timestamp: "1777896000", signature: rotatedSig, body: bytes(geminiBody))
    }

    @Test(arguments: [(-300.0, true), (300.0, true), (-301.0, false), (301.0, false), (0.0, true)])
    func toleranceEdges(_ skew: Double, _ ok: Bool) throws {
        // The message is signed at 1777896000; the receiver's clock is skewed.
        let v = try verifier([geminiSecret], at: 1777896000 - skew)
        let r = Result { () throws(VerificationError) in
            try v.verify(id: "wh_msg_0001", timestamp: "1777896000", signature: geminiSig, body: bytes(geminiBody))
        }
        if ok { #expect((try? r.get()) != nil) } else {
            #expect(throws: skew < 0 ? VerificationError.timestampTooOld : VerificationError.timestampTooNew) { try r.get() }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let id: String?, ts: String?, sig: String?, body: String
        let error: VerificationError
        var testDescription: String { name }
    }

    static let t = "1777896000"
    static let body = #"{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123"}}"#
    static let sig = "v1,C67khFY9Ak46w29CjXoVjkzXEv5eig83CRpvhbEcowA="
    static let cases: [Case] = [
        Case(name: "missing id", id: nil, ts: t, sig: sig, body: body, error: .missingHeader("webhook-id")),
        Case(name: "missing timestamp", id: "wh_msg_0001", ts: nil, sig: sig, body: body, error: .missingHeader("webhook-timestamp")),
        Case(name: "missing signature", id: "wh_msg_0001", ts: t, sig: nil, body: body, error: .missingHeader("webhook-signature")),
        Case(name: "non-numeric timestamp", id: "wh_msg_0001", ts: "17778960x0", sig: sig, body: body, error: .invalidTimestamp),
        Case(name: "negative timestamp", id: "wh_msg_0001", ts: "-1777896000", sig: sig, body: body, error: .invalidTimestamp),
        Case(name: "v1a only is ignored", id: "wh_msg_0001", ts: t, sig: "v1a," + sig.dropFirst(3), body: body, error: .noSignatureEntries),
        Case(name: "body changed", id: "wh_msg_0001", ts: t, sig: sig, body: body + " ", error: .noMatchingSignature),
        Case(name: "id changed", id: "wh_msg_0002", ts: t, sig: sig, body: body, error: .noMatchingSignature),
        Case(name: "signature as substring of an entry", id: "wh_msg_0001", ts: t, sig: "v1,xx" + sig.dropFirst(3), body: body, error: .noMatchingSignature),
        Case(name: "signature with suffix", id: "wh_msg_0001", ts: t, sig: sig + "AA", body: body, error: .noMatchingSignature),
        Case(name: "entry without version", id: "wh_msg_0001", ts: t, sig: String(sig.dropFirst(3)), body: body, error: .noSignatureEntries),
        Case(name: "tampered middle character", id: "wh_msg_0001", ts: t, sig: "v1,C67khFY9Ak46w29CjXoVjkzYEv5eig83CRpvhbEcowA=", body: body, error: .noMatchingSignature),
        Case(name: "JWT-shaped signature", id: "wh_msg_0001", ts: t, sig: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", body: body, error: .dynamicWebhooksNotConfigured),
    ]

    @Test(arguments: cases)
    func rejects(_ c: Case) throws {
        let v = try verifier([geminiSecret], at: 1777896000)
        #expect(throws: c.error) { try v.verify(id: c.id, timestamp: c.ts, signature: c.sig, body: bytes(c.body)) }
    }

    /// The reference libraries compare encoded strings, so only the canonical spelling verifies,
    /// even though each variant below decodes to exactly the signature's bytes.
    @Test(arguments: [
        ("non-canonical last character (unused low bits set)", "v1,C67khFY9Ak46w29CjXoVjkzXEv5eig83CRpvhbEcowB="),
        ("missing padding", "v1,C67khFY9Ak46w29CjXoVjkzXEv5eig83CRpvhbEcowA"),
        ("URL-safe alphabet", "v1,-imAMLZnkVUFsvVV6NrmooqI2W4QKAX8nGkuKCRnE2E="),
        ("URL-safe alphabet, unpadded", "v1,-imAMLZnkVUFsvVV6NrmooqI2W4QKAX8nGkuKCRnE2E"),
    ])
    func nonCanonicalBase64IsRejected(_ name: String, _ sig: String) throws {
        let v = try verifier([geminiSecret, rotatedSecret], at: 1777896000)
        #expect(throws: VerificationError.noMatchingSignature, "\(name)") {
            try v.verify(id: "wh_msg_0001", timestamp: "1777896000", signature: sig, body: bytes(geminiBody))
        }
        // The variant and the vector carry the same bytes: only the spelling differs.
        #expect(Base64.decode(sig.dropFirst(3)) == Base64.decode((sig.contains("imAML") ? rotatedSig : geminiSig).dropFirst(3)))
        // …and the canonical spelling next to it still verifies.
        try v.verify(id: "wh_msg_0001", timestamp: "1777896000", signature: "\(sig) \(geminiSig)", body: bytes(geminiBody))
    }

    @Test func wrongVersionEntryNextToValidOneStillVerifies() throws {
        try verifier([geminiSecret], at: 1777896000).verify(id: "wh_msg_0001", timestamp: "1777896000",
                                                            signature: "v1a,AAAA v2,BBBB \(geminiSig)", body: bytes(geminiBody))
    }

    @Test func secretParsing() throws {
        #expect(throws: WebhookSecretError.missingPrefix) { try WebhookSecret("notasecret") }
        #expect(throws: WebhookSecretError.invalidBase64) { try WebhookSecret("whsec_") }
        #expect(throws: WebhookSecretError.invalidBase64) { try WebhookSecret("whsec_!!!") }
        // Verify's errors name no setting: that is App's job (see HostConfigTests).
        #expect(!WebhookSecretError.missingPrefix.description.contains("HOOKHOST"))
        #expect(!WebhookSecretError.invalidBase64.description.contains("HOOKHOST"))
        let list = try WebhookSecret.parseList("\(geminiSecret), \(rotatedSecret)\n# comment\n\(v1Secret)")
        #expect(list.count == 3)
        // A secrets file saved with CRLF line endings ("\r\n" is one Character in Swift).
        #expect(try WebhookSecret.parseList("# rotated\r\n\(geminiSecret)\r\n\(rotatedSecret)\r\n") == [try WebhookSecret(geminiSecret), try WebhookSecret(rotatedSecret)])
        #expect(!list[0].description.contains("azN2"))  // never prints the secret
    }

    @Test func timestampsAreASCIIDigitsOnly() {
        for good in ["0", "1715000000", "999999999999"] { #expect(WebhookVerifier.isTimestampSyntax(good), "\(good)") }
        for bad in ["", "\u{0661}\u{0662}\u{0663}", "\u{00BD}", "１２３", "12 ", "-1", "+1", "1.5", "1234567890123"] {
            #expect(!WebhookVerifier.isTimestampSyntax(bad), "\(bad)")
        }
    }

    @Test func aSecretStopsVerifyingAtItsExpiryWithoutAReload() throws {
        // Both secrets sign during the grace period of a rotation; the old one expires.
        let clock = ManualClock(1_800_000_000)
        let old = try WebhookSecret(geminiSecret).expiring(at: 1_800_000_100)
        let new = try WebhookSecret(rotatedSecret)
        let v = WebhookVerifier(secrets: [old, new], tolerance: 1e9, clock: clock)
        let body = Array(geminiBody.utf8)
        let byOld = WebhookSigner.signature(secret: old, id: "m", timestamp: "1800000000", body: body)
        let byNew = WebhookSigner.signature(secret: new, id: "m", timestamp: "1800000000", body: body)
        try v.verify(id: "m", timestamp: "1800000000", signature: byOld, body: body)
        try v.verify(id: "m", timestamp: "1800000000", signature: byNew, body: body)
        clock.advance(100)
        #expect(throws: VerificationError.expiredSecret) { try v.verify(id: "m", timestamp: "1800000000", signature: byOld, body: body) }
        try v.verify(id: "m", timestamp: "1800000000", signature: byNew, body: body)
        // Signed with both (as Gemini does during the grace period): the unexpired one carries it.
        try v.verify(id: "m", timestamp: "1800000000", signature: byOld + " " + byNew, body: body)
        #expect(old.shown(at: 1_800_000_000).hasSuffix("(until 2027-01-15T08:01:40Z)"))
        #expect(old.shown(at: 1_800_000_200).contains("expired 2027-01-15T08:01:40Z"))
    }
}
