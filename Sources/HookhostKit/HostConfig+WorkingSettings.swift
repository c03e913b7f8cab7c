import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The second part of the settings table (see `HostConfig.table`): downloads, the Gemini API, logs,
/// isolation, TLS, reconcile. Split only to keep files small; the order is the documentation's.
extension HostConfig {
    static let workingSettings: [Setting<HostConfig>] = [
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
    ]
}
