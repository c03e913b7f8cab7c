import Glibc
import HookhostKit
import HookSupport
import HookVerify
import HookFetch

/// `hookhost webhooks …`: Gemini's project webhook (WebhookService, PROTOCOL §8) managed from
/// here — created with its secret written straight into the secrets file the host re-reads,
/// rotated without a gap, pinged end to end through the running host.
enum WebhooksCommand {
    static let help = """
    hookhost webhooks create --uri URL --events E1,E2 [--name N] [--show-secret] [--json]
    hookhost webhooks list [--json] [--page-size N]
    hookhost webhooks get ID [--json]
    hookhost webhooks update ID [--uri URL] [--events E1,E2] [--name N] [--state enabled|disabled] [--json]
    hookhost webhooks delete ID
    hookhost webhooks rotate ID [--revoke after-24h|now] [--show-secret]
    hookhost webhooks ping ID [--wait SECONDS] [--type T] [--data DIR]

    Manages the Gemini project's webhooks (the WebhookService of the Gemini API) with the key in
    GEMINI_API_KEY (sent as x-goog-api-key, never printed), at HOOKHOST_API_BASE (default
    https://generativelanguage.googleapis.com), API version HOOKHOST_API_VERSION (default v1).

      create          registers URL for the events (batch.succeeded, batch.expired, batch.failed,
                      interaction.requires_action, interaction.completed, interaction.failed,
                      video.generated, or others Gemini adds). Gemini shows the webhook's signing
                      secret once: it is written straight into HOOKHOST_SECRETS_FILE (or
                      --secrets-file) as `whsec_… webhook=ID`, never printed unless --show-secret.
                      The file is created 0600, replaced atomically, its other lines kept; a
                      running host picks the secret up within 2 s. No secrets file configured:
                      refused before anything is created.
      list, get       id, name, state (DISABLED BY GEMINI when Gemini turned it off after failed
                      deliveries), events, uri, and the secrets' truncated forms with expiry
      update          sends exactly the fields given (update_mask lists them)
      delete          deletes without asking and prints what it deleted; its lines in the secrets
                      file stay (delete the lines marked webhook=ID when you no longer need them)
      rotate          asks Gemini for a new secret and adds it to the file. --revoke after-24h
                      (default): Gemini signs with both for 24 h; the old secret's line gets
                      expires=<now + 24 h> and the host stops accepting it then (no restart).
                      now: Gemini drops the old secret at once and so does the file. Only lines
                      marked webhook=ID are retired.
      ping            asks Gemini to send a ping delivery. --wait S: then watches the running
                      host (through DATA/control.sock) for up to S seconds until a delivery of
                      type --type (default webhook.ping) arrives after the request, i.e. reached
                      the host and verified; else says which of "not reachable" or "signature
                      rejected" it was, when the host's counters tell.

      --secrets-file F  the secrets file (HOOKHOST_SECRETS_FILE)
      --data DIR        the running host's data directory (HOOKHOST_DATA, default ./data)
      --json            the API's JSON (list: every page's webhooks in one {"webhooks": […]})

    Exit codes: 0 done; 1 the API refused or failed (its HTTP status, status and message are
    printed), the secrets file could not be written, or the ping did not arrive; 2 usage or
    configuration (no GEMINI_API_KEY, no secrets file for create/rotate).
    """

    /// Where the command's settings came from: the same variables the host reads.
    struct Settings {
        var api: GeminiAPI
        var secretsFile: String?
        var data: String
    }

    static func settings(_ a: Arguments, env: [String: String] = environment()) throws -> Settings {
        var base = FetchPolicy.gemini.apiBase
        if let text = env["HOOKHOST_API_BASE"], !text.isEmpty {
            guard let u = FetchPolicy.base(text) else {
                throw ConfigError(setting: "HOOKHOST_API_BASE", message: "expected an http(s) URL without query, got \"\(URLRedaction.withoutQuery(text))\"")
            }
            base = u
        }
        let api: GeminiAPI
        do { api = try GeminiAPI(base: base, version: env["HOOKHOST_API_VERSION"].flatMap { $0.isEmpty ? nil : $0 } ?? "v1", apiKey: env["GEMINI_API_KEY"]) } catch {
            switch error {
            case .missingKey: throw ConfigError(setting: "GEMINI_API_KEY", message: "not set; export the Gemini project's API key (from https://aistudio.google.com/apikey)")
            default: throw ConfigError(setting: "HOOKHOST_API_VERSION", message: error.description)
            }
        }
        let file = (a.options["--secrets-file"] ?? env["HOOKHOST_SECRETS_FILE"]).flatMap { $0.isEmpty ? nil : FileSystem.absolute($0) }
        let data = a.options["--data"] ?? env["HOOKHOST_DATA"] ?? "./data"
        guard !data.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        return Settings(api: api, secretsFile: file, data: FileSystem.absolute(data))
    }

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--uri", "--events", "--name", "--state", "--revoke", "--wait", "--type", "--data",
                                             "--secrets-file", "--page-size"],
                              switches: ["--json", "--show-secret"])
        guard let sub = a.positional.first else { throw UsageError("webhooks needs a command: create, list, get, update, delete, rotate, ping") }
        let allowed: [String: Set<String>] = [
            "create": ["--uri", "--events", "--name", "--show-secret", "--json", "--secrets-file"],
            "list": ["--json", "--page-size"], "get": ["--json"],
            "update": ["--uri", "--events", "--name", "--state", "--json"], "delete": [],
            "rotate": ["--revoke", "--show-secret", "--secrets-file"], "ping": ["--wait", "--type", "--data"],
        ]
        guard let ok = allowed[sub] else { throw UsageError("unknown webhooks command \"\(sub)\" (create, list, get, update, delete, rotate, ping)") }
        if let odd = (Set(a.options.keys).union(a.flags)).subtracting(ok).sorted().first {
            throw UsageError("webhooks \(sub) does not take \(odd)")
        }
        let takesID = !(sub == "create" || sub == "list")
        if takesID && a.positional.count < 2 { throw UsageError("webhooks \(sub) needs a webhook ID (hookhost webhooks list shows them)") }
        try a.expectPositional(atMost: takesID ? 2 : 1, "webhooks \(sub)")
        let id = takesID ? a.positional[1] : ""
        if takesID && id.isEmpty { throw UsageError("webhooks \(sub): the webhook ID is empty") }
        let json = a.flags.contains("--json")
        let s = try settings(a)
        do {
            switch sub {
            case "create": return try create(a, s, json: json)
            case "list": return try list(a, s, json: json)
            case "get": return try show(try s.api.request("GET", GeminiAPI.path("webhooks", id)), json: json)
            case "update": return try update(a, s, id: id, json: json)
            case "delete":
                // Fetched first, so what is gone can be named.
                let hook = try s.api.request("GET", GeminiAPI.path("webhooks", id))
                _ = try s.api.request("DELETE", GeminiAPI.path("webhooks", id))
                print("deleted webhook \(id): \(hook["uri"]?.stringValue ?? "?") for \(WebhooksOutput.events(hook))")
                if let file = s.secretsFile { print("its secrets stay in \(file) until you delete the lines marked webhook=\(id)") }
                return 0
            case "rotate": return try rotate(a, s, id: id)
            default: return try ping(a, s, id: id)
            }
        } catch let e as GeminiAPIError {
            throw RuntimeError(e.description)
        }
    }

    static func list(_ a: Arguments, _ s: Settings, json: Bool) throws -> Int32 {
        var size: Int?
        if let text = a.options["--page-size"] {
            guard let n = Int(text), (1...1000).contains(n) else { throw UsageError("--page-size takes 1 … 1000, not \"\(text)\"") }
            size = n
        }
        let hooks = try s.api.list(GeminiAPI.path("webhooks"), items: "webhooks", style: .snake, pageSize: size)
        if json {
            var w = JSONWriter()
            w.beginObject(); w.key("webhooks"); w.beginArray(); for h in hooks { w.value(h) }; w.endArray(); w.endObject()
            print(w.string)
        } else {
            print(WebhooksOutput.table(hooks, now: SystemClock().now()))
        }
        return 0
    }

    static func show(_ hook: JSON, json: Bool) throws -> Int32 {
        print(json ? WebhooksOutput.compact(WebhooksOutput.withoutSecret(hook)) : WebhooksOutput.details(hook, now: SystemClock().now()))
        return 0
    }

    static func update(_ a: Arguments, _ s: Settings, id: String) throws -> (mask: [String], body: [UInt8]) {
        var w = JSONWriter()
        var mask: [String] = []
        w.beginObject()
        if let name = a.options["--name"] { w.field("name", name); mask.append("name") }
        if let state = a.options["--state"] {
            guard state == "enabled" || state == "disabled" else { throw UsageError("--state takes enabled or disabled, not \"\(state)\"") }
            w.field("state", state); mask.append("state")
        }
        if let text = a.options["--events"] {
            let events = try eventList(text)
            w.key("subscribed_events"); w.beginArray(); for e in events { w.string(e) }; w.endArray(); mask.append("subscribed_events")
        }
        if let uri = a.options["--uri"] { w.field("uri", try checkedURI(uri)); mask.append("uri") }
        w.endObject()
        guard !mask.isEmpty else { throw UsageError("webhooks update needs at least one of --uri, --events, --name, --state") }
        return (mask, w.bytes)
    }

    static func update(_ a: Arguments, _ s: Settings, id: String, json: Bool) throws -> Int32 {
        let (mask, body) = try update(a, s, id: id)
        let hook = try s.api.request("PATCH", GeminiAPI.path("webhooks", id), query: [("update_mask", mask.joined(separator: ","))], jsonBody: body)
        if !json { print("updated webhook \(id): \(mask.joined(separator: ", "))") }
        return try show(hook, json: json)
    }

    /// `a,b` → events; each a dotted name (what Gemini's enum and its future values look like).
    static func eventList(_ text: String) throws(UsageError) -> [String] {
        let events = text.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        guard !events.isEmpty else { throw UsageError("--events takes event types separated by commas (batch.succeeded,video.generated)") }
        for e in events where !e.utf8.allSatisfy({ c in (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F }) || e.count > 100 {
            throw UsageError("--events: \"\(e.prefix(100))\" is not an event type (lower-case, dots and underscores: batch.succeeded)")
        }
        return events
    }

    static func checkedURI(_ uri: String) throws(UsageError) -> String {
        guard let u = FetchURL(uri) else { throw UsageError("--uri takes an http(s) URL, not \"\(URLRedaction.withoutQuery(uri))\"") }
        return u.string
    }
}
