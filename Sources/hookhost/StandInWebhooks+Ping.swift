import Glibc
import HookhostKit
import HookSupport
import HookHTTP
import HookVerify
import HookFetch

extension StandInWebhooks {
    /// The ping's event type. Gemini's is undocumented (PROTOCOL §7); hookhost accepts any type,
    /// and `hookhost webhooks ping --wait` looks for this one (`--type` picks another).
    static let pingType = "webhook.ping"

    /// `POST …/webhooks/{id}:ping`: answers `{}` at once and POSTs the ping in the background.
    func ping(_ id: String) -> HTTPResponse {
        let now = clock.now()
        guard let hook = state.withLock({ $0.hooks[id] }) else { return Self.notFound(id) }
        let secrets = hook.secrets.filter { ($0.expires ?? .infinity) > now }.map(\.secret)
        var data = JSONWriter()
        data.beginObject(); data.field("webhook_id", hook.id); data.endObject()
        let body = SignedDelivery.envelope(type: Self.pingType, data: data.string, at: now)
        let messageID = "standin_ping_" + Self.newID()
        let log = self.log
        startThread(name: "standin-ping") {
            let timestamp = String(Int(SystemClock().now()))
            var request = ClientRequest(method: "POST", url: hook.uri)
            request.body = body
            request.timeout = 10
            // One v1 entry per secret still valid, as Standard Webhooks signs during a rotation.
            let signature = secrets.map { WebhookSigner.signature(secret: $0, id: messageID, timestamp: timestamp, body: body) }.joined(separator: " ")
            request.headers = [("Content-Type", "application/json"), (WebhookHeader.id, messageID), (WebhookHeader.timestamp, timestamp),
                               (WebhookHeader.signature, signature)]
            let outcome: String
            do { outcome = "HTTP \(try HTTPClient.perform(request).status)" } catch { outcome = "\(error)" }
            log("webhook.ping \(hook.id) → \(URLRedaction.withoutQuery(hook.uri)): \(outcome)")
        }
        return .json(200, Array("{}".utf8))
    }

    /// The Webhook resource as the API answers it; `newSecret` only on create.
    static func resource(_ hook: StandInWebhook, now: Double, newSecret: WebhookSecret? = nil) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", hook.id)
        if let name = hook.name { w.field("name", name) }
        w.field("uri", hook.uri)
        w.key("subscribed_events"); w.beginArray(); for e in hook.events { w.string(e) }; w.endArray()
        w.field("state", hook.state)
        if let newSecret { w.field("new_signing_secret", newSecret.encoded) }
        w.key("signing_secrets"); w.beginArray()
        for s in hook.secrets where (s.expires ?? .infinity) > now {
            w.beginObject()
            w.field("truncated_secret", truncated(s.secret))
            if let e = s.expires { w.field("expire_time", RFC3339.format(e)) }
            w.endObject()
        }
        w.endArray()
        w.field("create_time", formatTimestamp(hook.createTime))
        w.field("update_time", formatTimestamp(hook.updateTime))
        w.endObject()
        return w.bytes
    }

    /// `whsec_` and the last four characters: enough to tell secrets apart, not to use one.
    static func truncated(_ secret: WebhookSecret) -> String {
        "whsec_…" + String(secret.encoded.suffix(4))
    }
}
