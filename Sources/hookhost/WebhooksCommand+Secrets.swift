import Glibc
import HookhostKit
import HookSupport
import HookVerify
import HookFetch

/// create and rotate: the two calls whose answer is a secret shown once, which must end up in
/// the secrets file before anything else can go wrong.
extension WebhooksCommand {
    /// The secrets file, locked and checked writable before Gemini is asked for anything: a
    /// secret that cannot be stored is a secret lost (Gemini never shows it again). The lock is
    /// held until the new secret is stored, so concurrent runs ask Gemini and write in one order.
    static func requireSecretsFile(_ s: Settings, for command: String) throws -> SecretsFileLock {
        guard let file = s.secretsFile else {
            throw ConfigError(setting: "HOOKHOST_SECRETS_FILE",
                              message: "not set; webhooks \(command) writes the new signing secret there. Set it (or --secrets-file) to the file your host reads, e.g. HOOKHOST_SECRETS_FILE=/etc/hookhost/secrets")
        }
        do {
            let lock = try SecretsFileLock(file) {
                _ = LogSink.writeAll(2, Array("hookhost: waiting for another run that is changing \(file) (it holds its lock)\n".utf8))
            }
            // Room for the new line (a secret, its webhook id, an expiry and the note) and for an
            // expires= on each retired line.
            let text = try lock.checkWritable(extra: 4096)
            // Parsed too: a file the host would refuse must be fixed before it is added to.
            do { _ = try SecretsText.parse(text) } catch { throw SecretsFileError(path: file, message: "not a valid secrets file: \(error); fix it first") }
            return lock
        } catch {
            throw RuntimeError("cannot write the secrets file: \(error)")
        }
    }

    /// Adds `secret` for webhook `id`, retiring its previous ones as `retire` says. If that
    /// fails, the secret is printed (with what went wrong) so it is not lost.
    static func store(_ secret: WebhookSecret, webhook id: String, file lock: SecretsFileLock, note: String,
                      retire: SecretsFileEdit.Retire) throws -> SecretsFileEdit.Result {
        do {
            return try lock.update { text throws(SecretsFileError) in
                do {
                    let r = try SecretsFileEdit.add(secret, webhook: id, note: note, retire: retire, to: text)
                    return (r.text, r)
                } catch { throw SecretsFileError(path: lock.path, message: "not a valid secrets file: \(error)") }
            }
        } catch {
            print("the new signing secret of webhook \(id) (Gemini shows it only once; store it yourself):\n\(secret.encoded)")
            throw RuntimeError("could not add the secret to the secrets file: \(error)")
        }
    }

    static func create(_ a: Arguments, _ s: Settings, json: Bool) throws -> Int32 {
        guard let uriText = a.options["--uri"] else { throw UsageError("webhooks create needs --uri URL (where Gemini sends events)") }
        guard let eventsText = a.options["--events"] else { throw UsageError("webhooks create needs --events E1,E2 (e.g. batch.succeeded,video.generated)") }
        let uri = try checkedURI(uriText)
        let events = try eventList(eventsText)
        let lock = try requireSecretsFile(s, for: "create")
        let file = lock.path
        var w = JSONWriter()
        w.beginObject()
        w.key("subscribed_events"); w.beginArray(); for e in events { w.string(e) }; w.endArray()
        w.field("uri", uri)
        if let name = a.options["--name"] { w.field("name", name) }
        w.endObject()
        let hook = try s.api.request("POST", GeminiAPI.path("webhooks"), jsonBody: w.bytes)
        guard let id = hook["id"]?.stringValue, SecretsText.isWebhookID(id) else {
            // The secret is shown once: with no id to file it under, printing it is the only way not to lose it.
            let shown = hook["new_signing_secret"]?.stringValue.flatMap { try? WebhookSecret($0) }
                .map { "; its signing secret, not stored (add it to \(file) yourself): \($0.encoded)" } ?? ""
            throw RuntimeError("Gemini created a webhook but its answer has no usable id: \(WebhooksOutput.compact(WebhooksOutput.withoutSecret(hook)).prefix(300))\(shown)")
        }
        guard let text = hook["new_signing_secret"]?.stringValue, let secret = try? WebhookSecret(text) else {
            throw RuntimeError("webhook \(id) was created but the answer carries no whsec_ new_signing_secret; rotate it (hookhost webhooks rotate \(id) --revoke now) to get one")
        }
        let now = SystemClock().now()
        _ = try store(secret, webhook: id, file: lock, note: "created \(RFC3339.format(now)) by hookhost webhooks create", retire: .keep)
        if json {
            print(WebhooksOutput.compact(a.flags.contains("--show-secret") ? hook : WebhooksOutput.withoutSecret(hook)))
        } else {
            print("created webhook \(id): \(uri) for \(events.joined(separator: ", "))")
            print("its signing secret (fingerprint \(secret.fingerprint)) was added to \(file); a running host uses it within 2 s")
            if a.flags.contains("--show-secret") { print("signing secret: \(secret.encoded)") }
        }
        return 0
    }

    static func rotate(_ a: Arguments, _ s: Settings, id: String) throws -> Int32 {
        let revoke = a.options["--revoke"] ?? "after-24h"
        guard revoke == "after-24h" || revoke == "now" else { throw UsageError("--revoke takes after-24h or now, not \"\(revoke)\"") }
        guard SecretsText.isWebhookID(id) else { throw UsageError("\"\(id.prefix(80))\" is not a webhook id (letters, digits, - _ .)") }
        let lock = try requireSecretsFile(s, for: "rotate")
        let file = lock.path
        var w = JSONWriter()
        w.beginObject()
        w.field("revocation_behavior", revoke == "now" ? "revoke_previous_secrets_immediately" : "revoke_previous_secrets_after_h24")
        w.endObject()
        let answer = try s.api.request("POST", GeminiAPI.path("webhooks", id, method: "rotateSigningSecret"), jsonBody: w.bytes)
        guard let text = answer["secret"]?.stringValue, let secret = try? WebhookSecret(text) else {
            throw RuntimeError("Gemini rotated the secret of webhook \(id) but its answer carries no whsec_ secret; rotate again")
        }
        let now = SystemClock().now()
        let expiry = now + 24 * 3600
        let r = try store(secret, webhook: id, file: lock, note: "rotated \(RFC3339.format(now)) by hookhost webhooks rotate",
                          retire: revoke == "now" ? .now : .at(expiry))
        print("rotated the signing secret of webhook \(id): the new one (fingerprint \(secret.fingerprint)) was added to \(file)")
        if r.retired.isEmpty {
            print("no other secret in \(file) is marked webhook=\(id): any old secret you added by hand stays valid here until you remove it")
        } else if revoke == "now" {
            print("removed the previous secret(s) \(r.retired.joined(separator: ", ")): deliveries signed with them are refused from now on")
        } else {
            print("the previous secret(s) \(r.retired.joined(separator: ", ")) stay valid until \(RFC3339.format(expiry)) (expires= in the file), as Gemini's")
        }
        if a.flags.contains("--show-secret") { print("signing secret: \(secret.encoded)") }
        return 0
    }
}
