import Glibc

/// Every setting of `hookhost serve` (CONTRACT §2). Built from the environment, then flags.
public struct HostConfig: Sendable {
    public var listen = SocketAddress.inet(host: "0.0.0.0", port: 8080)
    /// A separate address for /metrics, /readyz and /healthz (nil: the main listener serves them).
    public var adminListen: SocketAddress?
    public var path = "/webhooks"
    public var secrets: [WebhookSecret] = []
    public var secretsFile: String?
    public var jwksURL = "https://generativelanguage.googleapis.com/.well-known/jwks.json"
    public var jwksFile: String?
    public var jwksMinRefresh: Double = 10
    public var audience: String?
    public var tolerance: Double = 300
    public var data = "./data"
    public var functions = "./Functions/bin"
    public var workers = HostConfig.cpuCount
    public var maxAttempts = 8
    public var functionTimeout: Double = 300
    public var maxBody = 1_048_576
    public var readTimeout: Double = 10
    public var idleTimeout: Double = 60
    public var retryBase: Double = 5
    public var retryCap: Double = 3600
    public var dedupTTL: Double = 259_200
    public var retention: Double = 86_400
    public var queueMax = 100_000
    public var shutdownGrace: Double = 30
    public var retryLaterFor: Double = 86_400
    public var fetchHosts: [String] = []
    public var keepResults: Double = 0
    public var fetchers = 4
    public var geminiAPIKey: String?
    public var apiBase = "https://generativelanguage.googleapis.com"
    public var gcsBase = "https://storage.googleapis.com"
    public var gcsTokenFile: String?
    public var logLevel = LogLevel.info
    /// Event-loop threads for HTTP (not in the contract's table; `HOOKHOST_HTTP_THREADS`).
    public var httpThreads = min(HostConfig.cpuCount, 4)
    /// Functions run as this user (`HOOKHOST_FUNCTION_USER`); nil: as the host's user.
    public var functionUser: FunctionUser?
    /// Each function runs as a uid of its own from this range (`HOOKHOST_FUNCTION_UIDS`).
    public var functionUIDs: FunctionUIDRange?
    /// PEM certificate chain and key (`HOOKHOST_TLS_CERT`/`_KEY`): both set, the listener speaks HTTPS.
    public var tlsCert: String?
    public var tlsKey: String?
    /// Secret-bearing flags the operator used (`--secrets`, `--gemini-api-key`): warned about once
    /// the host is up (a configuration error must stay a single line).
    public var secretFlagsUsed: [String] = []

    public init() {}

    public static var cpuCount: Int {
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return n > 0 ? n : 1
    }

    /// The settings: variable name, and how to apply a value. Flags derive from the names.
    nonisolated(unsafe) static let settings: [(String, (inout HostConfig, String) throws(ConfigError) -> Void)] = [
        ("HOOKHOST_LISTEN", { c, v throws(ConfigError) in
            guard let a = SocketAddress(parsing: v) else { throw bad("HOOKHOST_LISTEN", "expected host:port, [v6]:port or unix:/path, got \"\(v)\"") }
            c.listen = a }),
        ("HOOKHOST_ADMIN_LISTEN", { c, v throws(ConfigError) in
            if v.isEmpty { c.adminListen = nil; return }
            guard let a = SocketAddress(parsing: v) else { throw bad("HOOKHOST_ADMIN_LISTEN", "expected host:port, [v6]:port or unix:/path, got \"\(v)\"") }
            c.adminListen = a }),
        ("HOOKHOST_PATH", { c, v throws(ConfigError) in c.path = try deliveryPath(v) }),
        ("HOOKHOST_SECRETS", { c, v throws(ConfigError) in c.secrets = try SecretsStore.parse(v, setting: "HOOKHOST_SECRETS") }),
        ("HOOKHOST_SECRETS_FILE", { c, v throws(ConfigError) in c.secretsFile = try filePath("HOOKHOST_SECRETS_FILE", v) }),
        ("HOOKHOST_JWKS_URL", { c, v throws(ConfigError) in
            // The strict grammar of result URLs: a URL libcurl would read differently, or that only
            // fails at the first JWT delivery (no host, a bad port), or that carries credentials
            // into logs and /readyz (user-info), is refused at start.
            guard let u = FetchURL(v) else {
                throw bad("HOOKHOST_JWKS_URL", "expected an http:// or https:// URL with a host (no user-info, spaces or non-ASCII), got \"\(v.prefix(200))\"")
            }
            c.jwksURL = u.string }),
        ("HOOKHOST_JWKS_FILE", { c, v throws(ConfigError) in c.jwksFile = try filePath("HOOKHOST_JWKS_FILE", v) }),
        ("HOOKHOST_JWKS_MIN_REFRESH", { c, v throws(ConfigError) in c.jwksMinRefresh = try number("HOOKHOST_JWKS_MIN_REFRESH", v) }),
        ("HOOKHOST_AUDIENCE", { c, v throws(ConfigError) in
            // An empty value (an unset variable in a compose file) would turn the aud check off unnoticed.
            guard !v.isEmpty else { throw bad("HOOKHOST_AUDIENCE", "is empty; give the audience your webhooks carry in aud (unset it to skip the aud check)") }
            c.audience = v }),
        ("HOOKHOST_TOLERANCE", { c, v throws(ConfigError) in c.tolerance = try number("HOOKHOST_TOLERANCE", v) }),
        ("HOOKHOST_DATA", { c, v throws(ConfigError) in c.data = try filePath("HOOKHOST_DATA", v) }),
        ("HOOKHOST_FUNCTIONS", { c, v throws(ConfigError) in c.functions = try filePath("HOOKHOST_FUNCTIONS", v) }),
        ("HOOKHOST_WORKERS", { c, v throws(ConfigError) in c.workers = try integer("HOOKHOST_WORKERS", v) }),
        ("HOOKHOST_MAX_ATTEMPTS", { c, v throws(ConfigError) in c.maxAttempts = try integer("HOOKHOST_MAX_ATTEMPTS", v) }),
        ("HOOKHOST_FUNCTION_TIMEOUT", { c, v throws(ConfigError) in c.functionTimeout = try number("HOOKHOST_FUNCTION_TIMEOUT", v) }),
        ("HOOKHOST_MAX_BODY", { c, v throws(ConfigError) in c.maxBody = try integer("HOOKHOST_MAX_BODY", v) }),
        ("HOOKHOST_READ_TIMEOUT", { c, v throws(ConfigError) in c.readTimeout = try number("HOOKHOST_READ_TIMEOUT", v) }),
        ("HOOKHOST_IDLE_TIMEOUT", { c, v throws(ConfigError) in c.idleTimeout = try number("HOOKHOST_IDLE_TIMEOUT", v) }),
        ("HOOKHOST_RETRY_BASE", { c, v throws(ConfigError) in c.retryBase = try number("HOOKHOST_RETRY_BASE", v) }),
        ("HOOKHOST_RETRY_CAP", { c, v throws(ConfigError) in c.retryCap = try number("HOOKHOST_RETRY_CAP", v) }),
        ("HOOKHOST_DEDUP_TTL", { c, v throws(ConfigError) in c.dedupTTL = try number("HOOKHOST_DEDUP_TTL", v) }),
        ("HOOKHOST_RETENTION", { c, v throws(ConfigError) in c.retention = try number("HOOKHOST_RETENTION", v) }),
        ("HOOKHOST_QUEUE_MAX", { c, v throws(ConfigError) in c.queueMax = try integer("HOOKHOST_QUEUE_MAX", v) }),
        ("HOOKHOST_SHUTDOWN_GRACE", { c, v throws(ConfigError) in c.shutdownGrace = try number("HOOKHOST_SHUTDOWN_GRACE", v) }),
        ("HOOKHOST_RETRY_LATER_FOR", { c, v throws(ConfigError) in c.retryLaterFor = try number("HOOKHOST_RETRY_LATER_FOR", v) }),
        ("HOOKHOST_FETCH_HOSTS", { c, v in c.fetchHosts = v.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty } }),
        ("HOOKHOST_KEEP_RESULTS", { c, v throws(ConfigError) in c.keepResults = try number("HOOKHOST_KEEP_RESULTS", v) }),
        ("HOOKHOST_FETCHERS", { c, v throws(ConfigError) in c.fetchers = try integer("HOOKHOST_FETCHERS", v) }),
        ("GEMINI_API_KEY", { c, v in c.geminiAPIKey = v.isEmpty ? nil : v }),
        ("HOOKHOST_API_BASE", { c, v in c.apiBase = v }),
        ("HOOKHOST_GCS_BASE", { c, v in c.gcsBase = v }),
        ("HOOKHOST_GCS_TOKEN_FILE", { c, v throws(ConfigError) in c.gcsTokenFile = try filePath("HOOKHOST_GCS_TOKEN_FILE", v) }),
        ("HOOKHOST_LOG", { c, v throws(ConfigError) in
            guard let l = LogLevel(name: v) else { throw bad("HOOKHOST_LOG", "expected debug, info, warn or error, got \"\(v)\"") }
            c.logLevel = l }),
        ("HOOKHOST_HTTP_THREADS", { c, v throws(ConfigError) in c.httpThreads = try integer("HOOKHOST_HTTP_THREADS", v) }),
        ("HOOKHOST_FUNCTION_USER", { c, v throws(ConfigError) in c.functionUser = v.isEmpty ? nil : try FunctionUser.resolve(v).get() }),
        ("HOOKHOST_FUNCTION_UIDS", { c, v throws(ConfigError) in c.functionUIDs = v.isEmpty ? nil : try FunctionUIDRange.parse(v).get() }),
        ("HOOKHOST_TLS_CERT", { c, v throws(ConfigError) in c.tlsCert = try filePath("HOOKHOST_TLS_CERT", v) }),
        ("HOOKHOST_TLS_KEY", { c, v throws(ConfigError) in c.tlsKey = try filePath("HOOKHOST_TLS_KEY", v) }),
    ]

    /// The names of all variables, in documentation order.
    public static var settingNames: [String] { settings.map(\.0) }

    /// The flag for a variable: `HOOKHOST_SECRETS_FILE` → `--secrets-file`, `GEMINI_API_KEY` → `--gemini-api-key`.
    public static func flag(for variable: String) -> String {
        let base = variable.hasPrefix("HOOKHOST_") ? String(variable.dropFirst(9)) : variable
        return "--" + base.lowercased().replacingAll("_", "-")
    }

    /// Applies the environment, then the flags (a flag wins). Unknown flags are errors.
    public static func load(environment: [String: String], arguments: [String]) throws(ConfigError) -> HostConfig {
        var c = HostConfig()
        for (name, apply) in settings {
            if let v = environment[name] { try apply(&c, v) }
        }
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            guard arg.hasPrefix("--") else { throw ConfigError(setting: "serve", message: "unexpected argument \"\(arg)\"") }
            var name = arg
            var value: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                value = String(arg[arg.index(after: eq)...])
            }
            guard let (variable, apply) = settings.first(where: { flag(for: $0.0) == name }) else {
                throw ConfigError(setting: name, message: "unknown option (see hookhost serve --help)")
            }
            if value == nil {
                i += 1
                guard i < arguments.count else { throw ConfigError(setting: name, message: "needs a value") }
                value = arguments[i]
            }
            do { try apply(&c, value!) } catch {
                throw ConfigError(setting: "\(name) (\(variable))", message: error.message)
            }
            if secretSettings.contains(variable) && !c.secretFlagsUsed.contains(name) { c.secretFlagsUsed.append(name) }
            i += 1
        }
        if c.functionUser != nil && c.functionUIDs != nil {
            // Which one would win is not obvious, and guessing wrong shares a uid between functions.
            throw ConfigError(setting: "HOOKHOST_FUNCTION_UIDS (--function-uids)",
                              message: "set either HOOKHOST_FUNCTION_USER (one user for all functions) or HOOKHOST_FUNCTION_UIDS (a uid per function), not both; an empty value unsets one")
        }
        return c
    }

    private static func bad(_ s: String, _ m: String) -> ConfigError { ConfigError(setting: s, message: m) }

    /// Settings whose values are secrets: as flags they are visible in /proc/<pid>/cmdline.
    public static let secretSettings: Set<String> = ["HOOKHOST_SECRETS", "GEMINI_API_KEY"]

    /// Where a secret value sits in the arguments: the argument's index, the byte offset the value
    /// starts at (`--secrets S`: S, from 0; `--secrets=S`: after the `=`), and the flag.
    public struct SecretArgument: Sendable, Equatable {
        public let index: Int
        public let offset: Int
        public let flag: String
    }

    /// The secret values in `arguments`, found the way `load` walks them.
    public static func secretArguments(in arguments: [String]) -> [SecretArgument] {
        let flags = Set(secretSettings.map(flag(for:)))
        var out: [SecretArgument] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            if let eq = arg.utf8.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: arg.utf8[..<eq], as: UTF8.self)
                if flags.contains(name) { out.append(SecretArgument(index: i, offset: name.utf8.count + 1, flag: name)) }
                i += 1
            } else {
                if flags.contains(arg) && i + 1 < arguments.count { out.append(SecretArgument(index: i + 1, offset: 0, flag: arg)) }
                i += 2  // `--name value`: the value is never a flag itself
            }
        }
        return out
    }

    /// A file or directory setting. Empty is refused, not taken as the working directory: an
    /// unset variable in a compose file (`HOOKHOST_DATA=${DATA}`) would otherwise put the spool
    /// in the cwd and let start-up clear its `./work`, or run whatever executables sit there.
    static func filePath(_ s: String, _ v: String) throws(ConfigError) -> String {
        guard !v.isEmpty else { throw bad(s, "is empty; give a path (unset it to use the default)") }
        return v
    }

    /// Paths the host answers itself before deliveries are matched (probes, metrics).
    public static let reservedPaths: Set<String> = ["/healthz", "/readyz", "/metrics"]

    /// The delivery path: compared with the request's path after its query is cut off, so a
    /// `?` or `#` in it, or a probe's path, would make a host that never accepts a delivery.
    static func deliveryPath(_ v: String) throws(ConfigError) -> String {
        guard v.hasPrefix("/"), !v.contains(" ") else { throw bad("HOOKHOST_PATH", "must start with / and contain no spaces") }
        guard !v.contains("?"), !v.contains("#") else {
            throw bad("HOOKHOST_PATH", "must not contain ? or # (requests are matched on their path, without a query), got \"\(v)\"")
        }
        guard !reservedPaths.contains(v) else {
            throw bad("HOOKHOST_PATH", "\(v) is reserved for the host's own probes (\(reservedPaths.sorted().joined(separator: ", ")))")
        }
        return v
    }

    /// The documented range of every numeric setting (README "Configuration"). Out of range is a
    /// start-up error naming the setting, never a silent clamp.
    public static let ranges: [String: SettingRange] = [
        "HOOKHOST_JWKS_MIN_REFRESH": .seconds(max: 86_400, allowZero: true),
        "HOOKHOST_TOLERANCE": .seconds(max: 86_400),
        "HOOKHOST_WORKERS": .count(1, 1024),
        "HOOKHOST_MAX_ATTEMPTS": .count(1, 1000),
        "HOOKHOST_FUNCTION_TIMEOUT": .seconds(max: 86_400),
        // The spool frames a delivery with its metadata in at most 64 MiB.
        "HOOKHOST_MAX_BODY": .count(1, 32 << 20),
        "HOOKHOST_READ_TIMEOUT": .seconds(max: 3600),
        "HOOKHOST_IDLE_TIMEOUT": .seconds(max: 86_400),
        "HOOKHOST_RETRY_BASE": .seconds(max: 86_400),
        "HOOKHOST_RETRY_CAP": .seconds(max: 30 * 86_400),
        "HOOKHOST_DEDUP_TTL": .seconds(max: 365 * 86_400),
        "HOOKHOST_RETENTION": .seconds(max: 365 * 86_400, allowZero: true),
        "HOOKHOST_QUEUE_MAX": .count(1, 100_000_000),
        "HOOKHOST_SHUTDOWN_GRACE": .seconds(max: 3600, allowZero: true),
        "HOOKHOST_RETRY_LATER_FOR": .seconds(max: 365 * 86_400),
        "HOOKHOST_KEEP_RESULTS": .seconds(max: 365 * 86_400, allowZero: true),
        "HOOKHOST_HTTP_THREADS": .count(1, 64),
        "HOOKHOST_FETCHERS": .count(1, 64),
    ]

    private static func number(_ s: String, _ v: String) throws(ConfigError) -> Double {
        let range = ranges[s]!
        guard let d = range.parse(v) else { throw bad(s, "expected \(range.expectation), got \"\(v)\"") }
        return d
    }

    private static func integer(_ s: String, _ v: String) throws(ConfigError) -> Int {
        Int(try number(s, v))
    }
}
