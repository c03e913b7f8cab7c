import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The settings table of `hookhost serve`: one entry per setting.
extension HostConfig {
    /// Every setting, in documentation order: name, where it goes, range, default, meaning, secret.
    public static let table = SettingsTable<HostConfig>(receivingSettings + HostConfig.workingSettings)

    /// The first part of the table: listening, verification, hand-over, emitted events.
    static let receivingSettings: [Setting<HostConfig>] = [
        Setting("HOOKHOST_LISTEN", meaning: "address to listen on: host:port, [v6]:port or unix:/path",
                show: { $0.listen.description }) { c, v throws(ConfigError) in
            guard let a = SocketAddress(parsing: try Setting<HostConfig>.withoutControlCharacters("HOOKHOST_LISTEN", v)) else { throw bad("HOOKHOST_LISTEN", "expected host:port, [v6]:port or unix:/path, got \"\(v)\"") }
            c.listen = a },
        Setting("HOOKHOST_ADMIN_LISTEN", meaning: "a separate address for /metrics, /readyz and /healthz (then not served on the main listener)") { c, v throws(ConfigError) in
            if v.isEmpty { c.adminListen = nil; return }
            guard let a = SocketAddress(parsing: try Setting<HostConfig>.withoutControlCharacters("HOOKHOST_ADMIN_LISTEN", v)) else { throw bad("HOOKHOST_ADMIN_LISTEN", "expected host:port, [v6]:port or unix:/path, got \"\(v)\"") }
            c.adminListen = a },
        Setting("HOOKHOST_CONSOLE", meaning: "where the operator console (/console/) is served: admin (on HOOKHOST_ADMIN_LISTEN; off without one), main (on HOOKHOST_LISTEN) or off",
                show: { $0.console.rawValue }) { c, v throws(ConfigError) in
            guard let m = ConsoleMode(rawValue: v.trimmingSpaces.lowercased()) else { throw bad("HOOKHOST_CONSOLE", "expected admin, main or off, got \"\(v.prefix(40))\"") }
            c.console = m },
        Setting("HOOKHOST_ADMIN_TOKEN", meaning: "bearer token (at least \(ConsoleMode.minTokenLength) characters) the console needs for every action, and for reading on a listener that is not loopback",
                secret: true) { c, v throws(ConfigError) in
            if v.isEmpty { c.adminToken = nil; return }
            // Spaces around it (a file's newline) would make a token no one can type.
            guard v.trimmingSpaces == v, v.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw bad("HOOKHOST_ADMIN_TOKEN", "must be visible ASCII without spaces or line breaks (it travels in an HTTP header)")
            }
            guard v.utf8.count >= ConsoleMode.minTokenLength else {
                throw bad("HOOKHOST_ADMIN_TOKEN", "is \(v.utf8.count) characters; use at least \(ConsoleMode.minTokenLength) (e.g. openssl rand -hex 24)")
            }
            c.adminToken = v },
        .boolean("HOOKHOST_CONSOLE_TRUST_LOOPBACK", \.consoleTrustLoopback,
                 "on a loopback listener the console may be read without the token; false: reads need it there too (a proxy on the same machine)"),
        Setting("HOOKHOST_PATH", meaning: "the delivery path (POST); not /healthz, /readyz, /metrics, /hookhost/handover; visible ASCII without ? or #",
                show: { $0.path }) { c, v throws(ConfigError) in c.path = try deliveryPath(v) },
        Setting("HOOKHOST_SECRETS", meaning: "whsec_… secrets separated by spaces or commas (none: only JWT deliveries verify)",
                secret: true) { c, v throws(ConfigError) in c.secrets = try SecretsStore.parse(v, setting: "HOOKHOST_SECRETS") },
        .path("HOOKHOST_SECRETS_FILE", \.secretsFile, "file with one secret per line (# comments; expires=TIME and webhook=ID after a secret); re-read on change and on SIGHUP"),
        Setting("HOOKHOST_JWKS_URL", meaning: "keys for dynamic (RS256 JWT) deliveries; http:// or https://",
                show: { $0.jwksURL }) { c, v throws(ConfigError) in
            // The strict grammar of result URLs: a URL libcurl would read differently, or that only
            // fails at the first JWT delivery (no host, a bad port), or that carries credentials
            // into logs and /readyz (user-info), is refused at start.
            guard let u = FetchURL(v) else {
                throw bad("HOOKHOST_JWKS_URL", "expected an http:// or https:// URL with a host (no user-info, spaces or non-ASCII), got \"\(URLRedaction.withoutQuery(String(v.prefix(200))))\"")
            }
            c.jwksURL = u.string },
        .path("HOOKHOST_JWKS_FILE", \.jwksFile, "a local JWKS instead of the URL (offline use, tests)"),
        .seconds("HOOKHOST_JWKS_MIN_REFRESH", \.jwks.minRefresh, .seconds(max: 86_400, allowZero: true), "seconds between two JWKS fetches triggered by unknown kids"),
        Setting("HOOKHOST_AUDIENCE", meaning: "when set, a JWT's aud must contain it (unset: a warning at start; tokens Gemini signed for anyone verify)") { c, v throws(ConfigError) in
            // An empty value (an unset variable in a compose file) would turn the aud check off unnoticed.
            guard !v.isEmpty else { throw bad("HOOKHOST_AUDIENCE", "is empty; give the audience your webhooks carry in aud (unset it to skip the aud check)") }
            c.audience = try exactClaim("HOOKHOST_AUDIENCE", v) },
        .seconds("HOOKHOST_TOLERANCE", \.tolerance, .seconds(max: 86_400), "seconds of allowed webhook-timestamp skew"),
        Setting("HOOKHOST_JWT_ISSUER", meaning: "when set, a JWT's iss must equal it") { c, v throws(ConfigError) in
            guard !v.isEmpty else { throw bad("HOOKHOST_JWT_ISSUER", "is empty; give the iss your webhooks carry (unset it to skip the iss check)") }
            c.jwtClaims.issuer = try exactClaim("HOOKHOST_JWT_ISSUER", v) },
        .seconds("HOOKHOST_JWT_MAX_LIFETIME", \.jwtClaims.maxLifetime, .seconds(max: 365 * 86_400),
                 "seconds a JWT may be valid: exp - iat (exp - now without iat); longer-lived tokens get 401"),
        .boolean("HOOKHOST_JWT_REQUIRE_EXPIRY", \.jwtClaims.requireExpiry,
                 "a JWT needs exp, or an iat within HOOKHOST_TOLERANCE; false: tokens without either verify (risk: for ever)"),
        .boolean("HOOKHOST_JWT_ALLOW_REUSE", \.jwtAllowReuse,
                 "true: one JWT may authorize deliveries with different webhook-ids (risk: a captured token replays with new ids)"),
        Setting("HOOKHOST_JWT_TYPES", meaning: "typ values a JWT header may carry (comma-separated, case-insensitive; * for any); no typ always passes",
                show: { $0.jwtClaims.acceptedTypes.isEmpty ? "*" : $0.jwtClaims.acceptedTypes.joined(separator: ",") }) { c, v throws(ConfigError) in
            let list = v.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            guard !list.isEmpty else { throw bad("HOOKHOST_JWT_TYPES", "is empty; give typ values separated by commas, or * for any") }
            c.jwtClaims.acceptedTypes = list == ["*"] ? [] : list },
        .path("HOOKHOST_DATA", \.data, "spool, results, work directories, control socket"),
        .path("HOOKHOST_FUNCTIONS", \.functions, "directory of handler executables"),
        .count("HOOKHOST_WORKERS", \.dispatch.workers, .count(1, 1024), "functions running at once (sidecars limit each function further)",
               default: "number of cores"),
        .count("HOOKHOST_MAX_ATTEMPTS", \.dispatch.retry.maxAttempts, .count(1, 1000), "failed attempts before a delivery is dead-lettered"),
        .seconds("HOOKHOST_FUNCTION_TIMEOUT", \.dispatch.functionTimeout, .seconds(max: 86_400),
                 "seconds before a run's process group gets SIGTERM, then SIGKILL 2 s later"),
        // The spool frames a delivery with its metadata in at most 64 MiB.
        .count("HOOKHOST_MAX_BODY", \.http.limits.maxBodyBytes, .count(1, 32 << 20), "bytes; a larger delivery gets 413"),
        .seconds("HOOKHOST_READ_TIMEOUT", \.http.readTimeout, .seconds(max: 3600), "seconds a client has to send a whole request (else 408)"),
        .seconds("HOOKHOST_IDLE_TIMEOUT", \.http.idleTimeout, .seconds(max: 86_400), "seconds an idle keep-alive connection stays open"),
        .seconds("HOOKHOST_RETRY_BASE", \.dispatch.retry.base, .seconds(max: 86_400), "seconds: first retry delay (doubles per attempt, jittered)"),
        .seconds("HOOKHOST_RETRY_CAP", \.dispatch.retry.cap, .seconds(max: 30 * 86_400), "seconds: the longest retry delay"),
        .seconds("HOOKHOST_DEDUP_TTL", \.spool.dedupTTL, .seconds(max: 365 * 86_400), "seconds a webhook-id is remembered (72 h)"),
        .seconds("HOOKHOST_RETENTION", \.spool.retention, .seconds(max: 365 * 86_400, allowZero: true),
                 "seconds a done/skipped delivery stays inspectable (dead letters stay until replayed or purged)"),
        .count("HOOKHOST_QUEUE_MAX", \.spool.queueMax, .count(1, 100_000_000), "unfinished deliveries before new ones get 503"),
        .seconds("HOOKHOST_SHUTDOWN_GRACE", \.shutdownGrace, .seconds(max: 3600, allowZero: true),
                 "seconds between SIGTERM and SIGKILL for functions running at shutdown"),
        Setting("HOOKHOST_PEER_SECRET", meaning: "secret replicas sign hand-overs with (whsec_ + base64 of ≥ 24 bytes, or ≥ 32 bytes of text); the same on every replica; unset: POST /hookhost/handover answers 404",
                secret: true) { c, v throws(ConfigError) in
            if v.isEmpty { c.peerSecret = nil; return }
            do { c.peerSecret = try PeerSecret(v) } catch { throw bad("HOOKHOST_PEER_SECRET", "\(error)") } },
        Setting("HOOKHOST_HANDOVER", meaning: "on SIGTERM/SIGINT, hand unfinished deliveries to this URL (a peer or the load balancer) within HOOKHOST_SHUTDOWN_GRACE; needs HOOKHOST_PEER_SECRET",
                show: { $0.handover }) { c, v throws(ConfigError) in
            if v.isEmpty { c.handover = nil; return }
            guard case .success = Drainer.target(v) else {
                throw bad("HOOKHOST_HANDOVER", "expected an http:// or https:// URL with a host (no user-info, spaces or non-ASCII), got \"\(URLRedaction.withoutQuery(String(v.prefix(200))))\"")
            }
            c.handover = v },
        .count("HOOKHOST_MAX_EMIT", \.dispatch.emit.maxEvents, .count(1, 100_000),
               "events one run may emit (HOOKHOST_EMIT); more fails the run and emits none"),
        .count("HOOKHOST_MAX_DEPTH", \.dispatch.emit.maxDepth, .count(1, 64),
               "generations of emitted events below an outside delivery; a deeper one fails its parent's run"),
        .seconds("HOOKHOST_RETRY_LATER_FOR", \.dispatch.retryLaterFor, .seconds(max: 365 * 86_400),
                 "seconds a delivery may keep answering exit 75 before it is dead-lettered"),
    ]
}
