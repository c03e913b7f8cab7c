import Testing
@testable import HookSupport
@testable import HookVerify

@Suite struct SecretsTextTests {
    let a = WebhookSecret(key: Array(repeating: 1, count: 24))
    let b = WebhookSecret(key: Array(repeating: 2, count: 24))

    @Test func theOldFormatStillParses() throws {
        let list = try WebhookSecret.parseList("# c\n\(a.encoded), \(b.encoded)\n\n")
        #expect(list == [a, b])
        #expect(list.allSatisfy { $0.expiresAt == nil })
    }

    @Test func optionsBelongToTheSecretBeforeThem() throws {
        let text = "\(a.encoded) webhook=wh_1 expires=2026-12-08T17:40:00Z   # rotated out\n\(b.encoded) webhook=wh_1\n"
        let lines = try SecretsText.parse(text)
        #expect(lines.count == 2)
        #expect(lines[0].entries == [SecretsText.Entry(secret: a.expiring(at: 1_796_751_600), webhook: "wh_1")])
        #expect(lines[1].entries == [SecretsText.Entry(secret: b, webhook: "wh_1")])
        #expect(lines[0].entries[0].text == "\(a.encoded) webhook=wh_1 expires=2026-12-08T17:40:00Z")
        // A trailing comment may say anything, `=` included.
        #expect(try WebhookSecret.parseList("\(a.encoded) # note=x, whsec_nothing") == [a])
    }

    @Test func badOptionsNameTheirLine() {
        #expect(throws: WebhookSecretError.badOption(line: 3, message: "expires=2026-12-08 is not a UTC time like 2026-12-08T17:40:00Z")) {
            try WebhookSecret.parseList("# one\n\(a.encoded)\n\(b.encoded) expires=2026-12-08\n")
        }
        for (text, fragment) in [("\(a.encoded) expires=1e999", "1e999 is not a UTC time"),
                                 ("\(a.encoded) expires=99999-01-01T00:00:00Z", "is not a UTC time"),
                                 ("expires=2026-12-08T17:40:00Z \(a.encoded)", "comes before any whsec_ secret"),
                                 ("\(a.encoded) expire=2026-12-08T17:40:00Z", "unknown option expire="),
                                 ("\(a.encoded) expires=2026-12-08T17:40:00Z expires=2026-12-09T17:40:00Z", "given twice"),
                                 ("\(a.encoded) webhook=a/b", "not a webhook id")] {
            do {
                _ = try WebhookSecret.parseList(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.hasPrefix("line 1: "), "\(error)")
                #expect(error.description.contains(fragment), "\(error)")
                #expect(!error.description.contains(a.encoded), "the secret must not be echoed")
            }
        }
    }
}
