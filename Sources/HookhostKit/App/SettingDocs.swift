/// What each `hookhost serve` setting is for and what it is when unset. Kept next to the code
/// (not only in prose) so `serve --help` shows it and a test can hold docs/reference.md to it: a
/// setting added to `HostConfig.settings` without a line here fails the tests.
public struct SettingDoc: Sendable, Equatable {
    /// The default as shown to operators (`0.0.0.0:8080`, `number of cores`, `—` for none).
    public let defaultText: String
    /// One line: what it does.
    public let meaning: String
}

extension HostConfig {
    /// Documentation of every setting, by variable name.
    public static let documentation: [String: SettingDoc] = [
        "HOOKHOST_LISTEN": .init(defaultText: "0.0.0.0:8080", meaning: "address to listen on: host:port, [v6]:port or unix:/path"),
        "HOOKHOST_ADMIN_LISTEN": .init(defaultText: "—", meaning: "a separate address for /metrics, /readyz and /healthz (then not served on the main listener)"),
        "HOOKHOST_PATH": .init(defaultText: "/webhooks", meaning: "the delivery path (POST); not /healthz, /readyz, /metrics; no space, ? or #"),
        "HOOKHOST_SECRETS": .init(defaultText: "—", meaning: "whsec_… secrets separated by spaces or commas (none: only JWT deliveries verify)"),
        "HOOKHOST_SECRETS_FILE": .init(defaultText: "—", meaning: "file with one secret per line (# comments); re-read on change and on SIGHUP"),
        "HOOKHOST_JWKS_URL": .init(defaultText: "https://generativelanguage.googleapis.com/.well-known/jwks.json",
                                   meaning: "keys for dynamic (RS256 JWT) deliveries; http:// or https://"),
        "HOOKHOST_JWKS_FILE": .init(defaultText: "—", meaning: "a local JWKS instead of the URL (offline use, tests)"),
        "HOOKHOST_JWKS_MIN_REFRESH": .init(defaultText: "10", meaning: "seconds between two JWKS fetches triggered by unknown kids"),
        "HOOKHOST_AUDIENCE": .init(defaultText: "—", meaning: "when set, a JWT's aud must contain it"),
        "HOOKHOST_TOLERANCE": .init(defaultText: "300", meaning: "seconds of allowed webhook-timestamp skew"),
        "HOOKHOST_DATA": .init(defaultText: "./data", meaning: "spool, results, work directories, control socket"),
        "HOOKHOST_FUNCTIONS": .init(defaultText: "./Functions/bin", meaning: "directory of handler executables"),
        "HOOKHOST_WORKERS": .init(defaultText: "number of cores", meaning: "functions running at once (sidecars limit each function further)"),
        "HOOKHOST_MAX_ATTEMPTS": .init(defaultText: "8", meaning: "failed attempts before a delivery is dead-lettered"),
        "HOOKHOST_FUNCTION_TIMEOUT": .init(defaultText: "300", meaning: "seconds before a run's process group gets SIGTERM, then SIGKILL 2 s later"),
        "HOOKHOST_MAX_BODY": .init(defaultText: "1048576", meaning: "bytes; a larger delivery gets 413"),
        "HOOKHOST_READ_TIMEOUT": .init(defaultText: "10", meaning: "seconds a client has to send a whole request (else 408)"),
        "HOOKHOST_IDLE_TIMEOUT": .init(defaultText: "60", meaning: "seconds an idle keep-alive connection stays open"),
        "HOOKHOST_RETRY_BASE": .init(defaultText: "5", meaning: "seconds: first retry delay (doubles per attempt, jittered)"),
        "HOOKHOST_RETRY_CAP": .init(defaultText: "3600", meaning: "seconds: the longest retry delay"),
        "HOOKHOST_DEDUP_TTL": .init(defaultText: "259200", meaning: "seconds a webhook-id is remembered (72 h)"),
        "HOOKHOST_RETENTION": .init(defaultText: "86400", meaning: "seconds a done/skipped delivery stays inspectable (dead letters stay until replayed or purged)"),
        "HOOKHOST_QUEUE_MAX": .init(defaultText: "100000", meaning: "unfinished deliveries before new ones get 503"),
        "HOOKHOST_SHUTDOWN_GRACE": .init(defaultText: "30", meaning: "seconds between SIGTERM and SIGKILL for functions running at shutdown"),
        "HOOKHOST_RETRY_LATER_FOR": .init(defaultText: "86400", meaning: "seconds a delivery may keep answering exit 75 before it is dead-lettered"),
        "HOOKHOST_FETCH_HOSTS": .init(defaultText: "—", meaning: "extra hosts results may be downloaded from (comma-separated; host or host:port)"),
        "HOOKHOST_KEEP_RESULTS": .init(defaultText: "0", meaning: "seconds a downloaded result is kept after its delivery is done"),
        "HOOKHOST_TLS_CERT": .init(defaultText: "—", meaning: "PEM certificate chain; with HOOKHOST_TLS_KEY the listener speaks HTTPS (re-read on SIGHUP)"),
        "HOOKHOST_TLS_KEY": .init(defaultText: "—", meaning: "PEM private key for HOOKHOST_TLS_CERT"),
        "HOOKHOST_FETCHERS": .init(defaultText: "4", meaning: "result downloads at once (threads of their own, separate from the workers)"),
        "GEMINI_API_KEY": .init(defaultText: "—", meaning: "sent as x-goog-api-key when downloading results from the API origin"),
        "HOOKHOST_API_BASE": .init(defaultText: "https://generativelanguage.googleapis.com", meaning: "where files/… and batches/… are downloaded"),
        "HOOKHOST_GCS_BASE": .init(defaultText: "https://storage.googleapis.com", meaning: "where gs:// results are downloaded"),
        "HOOKHOST_GCS_TOKEN_FILE": .init(defaultText: "—", meaning: "file holding a bearer token for gs:// downloads (read on each use)"),
        "HOOKHOST_LOG": .init(defaultText: "info", meaning: "debug, info, warn or error; JSON lines on stderr"),
        "HOOKHOST_HTTP_THREADS": .init(defaultText: "number of cores, at most 4", meaning: "HTTP event-loop threads"),
        "HOOKHOST_FUNCTION_USER": .init(defaultText: "—", meaning: "run every function as this one user (name or uid:gid): they cannot read the host, but can read each other; needs root or CAP_SETUID/CAP_SETGID/CAP_KILL"),
        "HOOKHOST_FUNCTION_UIDS": .init(defaultText: "—", meaning: "FIRST-LAST (1 … 2147483647, at least 2 ids): each function runs as a uid (and gid) of its own from this range, so functions cannot read each other either (see Isolation); not with HOOKHOST_FUNCTION_USER"),
    ]

    /// The documented range of a setting, as the reference writes it (nil: not numeric).
    public static func rangeText(_ name: String) -> String? {
        guard let r = ranges[name] else { return nil }
        let low = SettingRange.format(r.lower), high = SettingRange.format(r.upper)
        if r.integer { return "\(low) … \(high)" }
        return (r.lowerInclusive ? "\(low)" : "> \(low)") + " … \(high) s"
    }

    /// One row of the settings table in docs/reference.md, generated so the test can compare.
    public static func referenceRow(_ name: String) -> String {
        let doc = documentation[name]
        let def = doc.map { $0.defaultText == "—" ? "—" : "`\($0.defaultText)`" } ?? "?"
        return "| `\(name)` | `\(flag(for: name))` | \(def) | \(rangeText(name) ?? "") | \(doc?.meaning ?? "?") |"
    }

    /// The whole settings table, in `settings` order (`hookhost serve --help-reference` prints it).
    public static var referenceTable: String {
        (["| variable | flag | default | range | meaning |", "|---|---|---|---|---|"] + settingNames.map(referenceRow))
            .joined(separator: "\n")
    }
}
