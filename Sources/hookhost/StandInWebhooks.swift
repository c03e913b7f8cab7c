import Glibc
import Synchronization
import HookhostKit
import HookSupport
import HookHTTP
import HookVerify
import HookFetch

/// One project webhook of the stand-in WebhookService.
struct StandInWebhook: Sendable {
    let id: String
    var name: String?
    var uri: String
    var events: [String]
    var state = "enabled"
    /// Newest first; a secret with an expiry is dropped once it has passed.
    var secrets: [(secret: WebhookSecret, expires: Double?)]
    let createTime: Double
    var updateTime: Double
}

/// The stand-in for Gemini's WebhookService (PROTOCOL §8), spoken as google-genai 3.3.0 speaks it
/// (the e2e suite drives it with the SDK): create, list (`page_size`/`page_token`), get, update
/// (`update_mask`), delete, `:ping` (a signed `webhook.ping` POSTed to the webhook's uri, signed
/// with every secret still valid — as Gemini signs during a rotation's grace period) and
/// `:rotateSigningSecret`. In memory, for the life of the process.
final class StandInWebhooks: Sendable {
    let state = Mutex(State())
    let log: @Sendable (String) -> Void
    let clock: any WallClock

    struct State: Sendable {
        var hooks: [String: StandInWebhook] = [:]
        /// Ids in creation order: pages follow it.
        var order: [String] = []
    }

    /// At most this many webhooks; the real service allows a handful per project.
    static let maxWebhooks = 1000
    static let defaultPageSize = 50
    static let grace: Double = 24 * 3600

    init(clock: any WallClock = SystemClock(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.clock = clock
        self.log = log
    }

    /// What the request touched, for the stand-in's request log: the body's top-level field
    /// names (the e2e tests compare hookhost's requests with google-genai's through these).
    static func fields(_ body: [UInt8]) -> [String] {
        guard case .object(let members)? = try? JSONParser.parse(body) else { return [] }
        return members.map(\.key).sorted()
    }

    /// The answer when `request` is a WebhookService call, else nil.
    func answer(_ request: HTTPRequest) -> HTTPResponse? {
        let parts = request.path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0].isEmpty, parts[1] == "v1" || parts[1] == "v1beta" || parts[1] == "v1alpha",
              parts[2] == "webhooks" || parts[2].hasPrefix("webhooks/") else { return nil }
        let query = Self.query(request.target)
        if parts[2] == "webhooks" {
            switch request.method {
            case "POST": return create(request.body)
            case "GET": return list(query)
            default: return StandInJobs.failure(405, "INVALID_ARGUMENT", "\(request.method) is not a method of /webhooks")
            }
        }
        let rest = ControlEndpoint.percentDecode(String(parts[2].dropFirst("webhooks/".count)))
        let (id, verb) = rest.lastIndex(of: ":").map { (String(rest[..<$0]), String(rest[rest.index(after: $0)...])) } ?? (rest, "")
        guard StandInJobs.isSafeID(id) else { return StandInJobs.failure(400, "INVALID_ARGUMENT", "\"\(id.prefix(80))\" is not a webhook id") }
        switch (request.method, verb) {
        case ("GET", ""): return withHook(id) { .json(200, Self.resource($0, now: clock.now())) }
        case ("PATCH", ""): return update(id, query: query, body: request.body)
        case ("DELETE", ""):
            let gone = state.withLock { s -> Bool in
                s.order.removeAll { $0 == id }
                return s.hooks.removeValue(forKey: id) != nil
            }
            return gone ? .json(200, Array("{}".utf8)) : Self.notFound(id)
        case ("POST", "ping"): return ping(id)
        case ("POST", "rotateSigningSecret"): return rotate(id, body: request.body)
        default: return StandInJobs.failure(404, "NOT_FOUND", "no method \(request.method) \(request.path)")
        }
    }

    func create(_ body: [UInt8]) -> HTTPResponse {
        let doc: JSON
        switch StandInJobs.object(body) {
        case .success(let value): doc = value
        case .failure(let error): return error.response
        }
        guard let uri = doc["uri"]?.stringValue, Self.isHTTP(uri) else { return StandInJobs.failure(400, "INVALID_ARGUMENT", "uri: an http(s) URL is required") }
        guard let events = Self.events(doc["subscribed_events"]), !events.isEmpty else {
            return StandInJobs.failure(400, "INVALID_ARGUMENT", "subscribed_events: at least one event is required")
        }
        let now = clock.now()
        let secret = WebhookSecret(key: Crypto.randomBytes(32))
        let hook = StandInWebhook(id: Self.newID(), name: doc["name"]?.stringValue, uri: uri, events: events,
                                  secrets: [(secret, nil)], createTime: now, updateTime: now)
        let added = state.withLock { s -> Bool in
            guard s.hooks.count < Self.maxWebhooks else { return false }
            s.hooks[hook.id] = hook
            s.order.append(hook.id)
            return true
        }
        guard added else { return StandInJobs.failure(429, "RESOURCE_EXHAUSTED", "the stand-in holds \(Self.maxWebhooks) webhooks already") }
        log("webhook \(hook.id) created → \(URLRedaction.withoutQuery(uri)) for \(events.joined(separator: ","))")
        return .json(200, Self.resource(hook, now: now, newSecret: secret))
    }

    func list(_ query: [String: String]) -> HTTPResponse {
        var size = Self.defaultPageSize
        if let text = query["page_size"] {
            guard let n = Int(text), n >= 0 else { return StandInJobs.failure(400, "INVALID_ARGUMENT", "page_size must be a whole number") }
            size = n == 0 ? Self.defaultPageSize : min(n, 1000)
        }
        var start = 0
        if let token = query["page_token"], !token.isEmpty {
            guard token.hasPrefix("o"), let n = Int(token.dropFirst()), n >= 0 else {
                return StandInJobs.failure(400, "INVALID_ARGUMENT", "page_token is not one this service gave out")
            }
            start = n
        }
        let now = clock.now()
        let (page, more) = state.withLock { s -> ([StandInWebhook], Bool) in
            let ids = s.order.dropFirst(start).prefix(size)
            return (ids.compactMap { s.hooks[$0] }, start + ids.count < s.order.count)
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("webhooks"); w.beginArray()
        for hook in page { w.raw(Self.resource(hook, now: now)) }
        w.endArray()
        if more { w.field("next_page_token", "o\(start + page.count)") }
        w.endObject()
        return .json(200, w.bytes)
    }

    func update(_ id: String, query: [String: String], body: [UInt8]) -> HTTPResponse {
        let doc: JSON
        switch StandInJobs.object(body) {
        case .success(let value): doc = value
        case .failure(let error): return error.response
        }
        let known: Set<String> = ["name", "uri", "subscribed_events", "state"]
        var mask: [String]
        if let text = query["update_mask"] {
            mask = text.split(separator: ",").map { String($0).trimmingSpaces }
            if let odd = mask.first(where: { !known.contains($0) }) {
                return StandInJobs.failure(400, "INVALID_ARGUMENT", "update_mask: unknown field \"\(odd.prefix(40))\"")
            }
        } else {
            guard case .object(let members) = doc else { return StandInJobs.failure(400, "INVALID_ARGUMENT", "no fields") }
            mask = members.map(\.key).filter(known.contains)
        }
        if mask.contains("uri"), !(doc["uri"]?.stringValue.map(Self.isHTTP) ?? false) {
            return StandInJobs.failure(400, "INVALID_ARGUMENT", "uri: an http(s) URL is required")
        }
        let events = Self.events(doc["subscribed_events"])
        if mask.contains("subscribed_events"), events?.isEmpty ?? true {
            return StandInJobs.failure(400, "INVALID_ARGUMENT", "subscribed_events: at least one event is required")
        }
        let newState = doc["state"]?.stringValue
        // The SDK's update type allows the third state too; tests use it to show what Gemini's
        // own switch-off looks like.
        if mask.contains("state"), !["enabled", "disabled", "disabled_due_to_failed_deliveries"].contains(newState ?? "") {
            return StandInJobs.failure(400, "INVALID_ARGUMENT", "state: enabled, disabled or disabled_due_to_failed_deliveries")
        }
        let now = clock.now()
        let updated = state.withLock { s -> StandInWebhook? in
            guard var hook = s.hooks[id] else { return nil }
            if mask.contains("name") { hook.name = doc["name"]?.stringValue }
            if mask.contains("uri"), let uri = doc["uri"]?.stringValue { hook.uri = uri }
            if mask.contains("subscribed_events"), let events { hook.events = events }
            if mask.contains("state"), let newState { hook.state = newState }
            hook.updateTime = now
            s.hooks[id] = hook
            return hook
        }
        guard let updated else { return Self.notFound(id) }
        log("webhook \(id) updated: \(mask.joined(separator: ","))")
        return .json(200, Self.resource(updated, now: now))
    }

    func rotate(_ id: String, body: [UInt8]) -> HTTPResponse {
        let doc: JSON
        switch StandInJobs.object(body.isEmpty ? Array("{}".utf8) : body) {
        case .success(let value): doc = value
        case .failure(let error): return error.response
        }
        let behavior = doc["revocation_behavior"]?.stringValue ?? "revoke_previous_secrets_after_h24"
        guard behavior == "revoke_previous_secrets_after_h24" || behavior == "revoke_previous_secrets_immediately" else {
            return StandInJobs.failure(400, "INVALID_ARGUMENT", "revocation_behavior: revoke_previous_secrets_after_h24 or revoke_previous_secrets_immediately")
        }
        let now = clock.now()
        let secret = WebhookSecret(key: Crypto.randomBytes(32))
        let found = state.withLock { s -> Bool in
            guard var hook = s.hooks[id] else { return false }
            hook.secrets = behavior == "revoke_previous_secrets_immediately"
                ? [] : hook.secrets.map { ($0.secret, min($0.expires ?? now + Self.grace, now + Self.grace)) }
            hook.secrets.insert((secret, nil), at: 0)
            hook.updateTime = now
            s.hooks[id] = hook
            return true
        }
        guard found else { return Self.notFound(id) }
        log("webhook \(id) secret rotated (\(behavior))")
        var w = JSONWriter()
        w.beginObject(); w.field("secret", secret.encoded); w.endObject()
        return .json(200, w.bytes)
    }

    func withHook(_ id: String, _ body: (StandInWebhook) -> HTTPResponse) -> HTTPResponse {
        guard let hook = state.withLock({ $0.hooks[id] }) else { return Self.notFound(id) }
        return body(hook)
    }

    static func notFound(_ id: String) -> HTTPResponse {
        StandInJobs.failure(404, "NOT_FOUND", "webhook \(id) not found")
    }

    static func isHTTP(_ s: String) -> Bool { FetchURL(s) != nil }

    static func events(_ value: JSON?) -> [String]? {
        guard case .array(let items)? = value else { return nil }
        let names = items.compactMap(\.stringValue)
        return names.count == items.count && names.allSatisfy({ !$0.isEmpty && $0.count <= 100 }) ? names : nil
    }

    /// Ids shaped like the service's: lower-case letters and digits.
    static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String(Crypto.randomBytes(16).map { alphabet[Int($0) % alphabet.count] })
    }

    static func query(_ target: String) -> [String: String] {
        guard let q = target.firstIndex(of: "?") else { return [:] }
        var out: [String: String] = [:]
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[ControlEndpoint.percentDecode(String(kv[0]))] = kv.count > 1 ? ControlEndpoint.percentDecode(String(kv[1])) : ""
        }
        return out
    }
}
