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
    public static let table = SettingsTable<HostConfig>([
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
        Setting("HOOKHOST_FETCH_HOSTS", meaning: "extra hosts results may be downloaded from (comma-separated; host or host:port)") { c, v throws(ConfigError) in
            var patterns: [HostPattern] = []
            for entry in v.split(separator: ",").map({ $0.trimmingSpaces }) where !entry.isEmpty {
                guard let p = HostPattern(entry) else { throw bad("HOOKHOST_FETCH_HOSTS", "\"\(entry)\" is not host or host:port") }
                patterns.append(p)
            }
            c.fetchHosts = patterns },
        .seconds("HOOKHOST_KEEP_RESULTS", \.fetch.keepResults, .seconds(max: 365 * 86_400, allowZero: true),
                 "seconds a downloaded result is kept after its delivery is done"),
        .count("HOOKHOST_FETCHERS", \.fetch.fetchers, .count(1, 64), "result downloads at once (threads of their own, separate from the workers)"),
        Setting("GEMINI_API_KEY", meaning: "sent as x-goog-api-key when downloading results from the API origin, and by hookhost webhooks", secret: true) { c, v in
            c.geminiAPIKey = v.isEmpty ? nil : v },
        Setting("HOOKHOST_API_BASE", meaning: "where files/… and batches/… are downloaded", show: { HostConfig.showBase($0.apiBase) }) { c, v throws(ConfigError) in
            guard let u = FetchPolicy.base(v) else { throw bad("HOOKHOST_API_BASE", "expected an http(s) URL without query, got \"\(URLRedaction.withoutQuery(v))\"") }
            c.apiBase = u },
        Setting("HOOKHOST_API_VERSION", meaning: "API version for hookhost webhooks/reconcile calls: v1, v1beta, v1alpha or v<digits>[alpha|beta<digits>]",
                show: { $0.apiVersion }) { c, v throws(ConfigError) in
            guard GeminiAPI.isValidVersion(v) else { throw bad("HOOKHOST_API_VERSION", "expected v1, v1beta, v1alpha or v<digits>[alpha|beta<digits>], got \"\(v.prefix(40))\"") }
            c.apiVersion = v },
        Setting("HOOKHOST_GCS_BASE", meaning: "where gs:// results are downloaded", show: { HostConfig.showBase($0.gcsBase) }) { c, v throws(ConfigError) in
            guard let u = FetchPolicy.base(v) else { throw bad("HOOKHOST_GCS_BASE", "expected an http(s) URL without query, got \"\(URLRedaction.withoutQuery(v))\"") }
            c.gcsBase = u },
        .path("HOOKHOST_GCS_TOKEN_FILE", \.gcsTokenFile, "file holding a bearer token for gs:// downloads (read on each use)"),
        Setting("HOOKHOST_LOG", meaning: "debug, info, warn or error; JSON lines on stderr", default: "info") { c, v throws(ConfigError) in
            guard let l = LogLevel(name: v) else { throw bad("HOOKHOST_LOG", "expected debug, info, warn or error, got \"\(v)\"") }
            c.logLevel = l },
        .count("HOOKHOST_LOG_BUFFER", \.logBuffer, .count(4096, 1 << 30),
               "bytes of log lines kept while stderr is not read; beyond, lines are dropped and counted (the host never waits for its log)"),
        .count("HOOKHOST_HTTP_THREADS", \.httpThreads, .count(1, 64), "HTTP event-loop threads", default: "number of cores, at most 4"),
        Setting("HOOKHOST_FUNCTION_USER", meaning: "run every function as this one user (name or uid:gid): they cannot read the host, but can read each other; needs root or CAP_SETUID/CAP_SETGID/CAP_KILL") { c, v throws(ConfigError) in
            c.functionUser = v.isEmpty ? nil : try FunctionUser.resolve(v).get() },
        Setting("HOOKHOST_FUNCTION_UIDS", meaning: "FIRST-LAST (1 … 2147483647, at least 2 ids): each function runs as a uid (and gid) of its own from this range, so functions cannot read each other either (see Isolation); not with HOOKHOST_FUNCTION_USER") { c, v throws(ConfigError) in
            c.functionUIDs = v.isEmpty ? nil : try FunctionUIDRange.parse(v).get() },
        .path("HOOKHOST_TLS_CERT", \.tlsCert, "PEM certificate chain; with HOOKHOST_TLS_KEY the listener speaks HTTPS (re-read on SIGHUP)"),
        .path("HOOKHOST_TLS_KEY", \.tlsKey, "PEM private key for HOOKHOST_TLS_CERT"),
        Setting("HOOKHOST_RECONCILE_EVERY", meaning: "seconds between reconcile runs inside the host, 30 … 86400 (lists the API's finished batches, admits the events that never came; needs GEMINI_API_KEY); 0: off",
                range: .seconds(max: 86_400, allowZero: true), default: "0") { c, v throws(ConfigError) in
            let t = try SettingRange.seconds(max: 86_400, allowZero: true).parseOrThrow("HOOKHOST_RECONCILE_EVERY", v)
            // Below 30 s a run would only repeat the same listing calls against the API's quota.
            guard t == 0 || t >= 30 else { throw bad("HOOKHOST_RECONCILE_EVERY", "expected 0 (off) or 30 … 86400 seconds, got \(v)") }
            c.reconcileEvery = t },
        Setting("HOOKHOST_RECONCILE_WINDOW", meaning: "how far back those runs look: 30m, 48h, 2d (at most 365d)", default: "48h") { c, v throws(ConfigError) in
            switch ReconcileWindow.parse(v.trimmingSpaces) {
            case .success(let s): c.reconcileWindow = s
            case .failure(let e): throw bad("HOOKHOST_RECONCILE_WINDOW", e.message)
            } },
    ])
}
