import Testing
@testable import HookSupport
@testable import HookVerify
@testable import HookhostKit

@Suite struct SecretsFileEditTests {
    let manual = WebhookSecret(key: Array(repeating: 1, count: 24))
    let old = WebhookSecret(key: Array(repeating: 2, count: 24))
    let new = WebhookSecret(key: Array(repeating: 3, count: 24))
    let other = WebhookSecret(key: Array(repeating: 4, count: 24))

    var file: String {
        "# my secrets\n\(manual.encoded)\n\n\(old.encoded) webhook=wh_1  # created\n\(other.encoded) webhook=wh_2\n"
    }

    @Test func createAppendsAndKeepsEveryOtherLine() throws {
        let r = try SecretsFileEdit.add(new, webhook: "wh_3", note: "webhook wh_3", retire: .keep, to: file)
        #expect(r.text == file + "\(new.encoded) webhook=wh_3  # webhook wh_3\n")
        #expect(r.retired.isEmpty && !r.alreadyPresent)
        #expect(try SecretsFileEdit.add(new, webhook: "wh_3", note: "x", retire: .keep, to: "").text == "\(new.encoded) webhook=wh_3  # x\n")
    }

    @Test func rotateAfter24hGivesOnlyThatWebhooksOldSecretsAnExpiry() throws {
        let r = try SecretsFileEdit.add(new, webhook: "wh_1", note: "rotated", retire: .at(1_796_751_600), to: file)
        #expect(r.text == "# my secrets\n\(manual.encoded)\n\n\(old.encoded) webhook=wh_1 expires=2026-12-08T17:40:00Z  # created\n"
                + "\(other.encoded) webhook=wh_2\n\(new.encoded) webhook=wh_1  # rotated\n")
        #expect(r.retired == [old.fingerprint])
        let secrets = try WebhookSecret.parseList(r.text)
        #expect(secrets.first { $0.fingerprint == old.fingerprint }?.expiresAt == 1_796_751_600)
        // A second rotation does not push an earlier expiry later.
        let again = try SecretsFileEdit.add(other, webhook: "wh_1", note: "x", retire: .at(1_796_800_000), to: r.text)
        #expect(try WebhookSecret.parseList(again.text).first { $0.fingerprint == old.fingerprint }?.expiresAt == 1_796_751_600)
    }

    @Test func rotateNowRemovesThatWebhooksOldSecrets() throws {
        let r = try SecretsFileEdit.add(new, webhook: "wh_1", note: "rotated", retire: .now, to: file)
        #expect(r.text == "# my secrets\n\(manual.encoded)\n\n\(other.encoded) webhook=wh_2\n\(new.encoded) webhook=wh_1  # rotated\n")
        #expect(r.retired == [old.fingerprint])
    }

    @Test func aSecretAlreadyThereIsNotAddedTwice() throws {
        let r = try SecretsFileEdit.add(old, webhook: "wh_1", note: "x", retire: .now, to: file)
        #expect(r.alreadyPresent)
        #expect(r.text == file)
    }

    @Test func aBrokenFileIsNotRewritten() {
        #expect(throws: WebhookSecretError.self) { try SecretsFileEdit.add(new, webhook: "w", note: "x", retire: .keep, to: "whsec_!!!\n") }
    }
}
