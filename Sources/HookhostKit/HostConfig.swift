import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Every setting of `hookhost serve` (CONTRACT §2). Components' settings live in their own
/// configurations, nested here, so a default is written once, where the component defines it.
public struct HostConfig: Sendable {
    public var listen = SocketAddress.inet(host: "0.0.0.0", port: 8080)
    /// A separate address for /metrics, /readyz and /healthz (nil: the main listener serves them).
    public var adminListen: SocketAddress?
    /// Where the operator console is served (`HOOKHOST_CONSOLE`).
    public var console = ConsoleMode.admin
    /// Reads on a listener that is not loopback, and every console action, need it (`HOOKHOST_ADMIN_TOKEN`).
    public var adminToken: String?
    /// False: a loopback listener's console needs the token for reads too (`HOOKHOST_CONSOLE_TRUST_LOOPBACK`).
    public var consoleTrustLoopback = true
    public var path = "/webhooks"
    public var secrets: [WebhookSecret] = []
    public var secretsFile: String?
    public var jwksURL = "https://generativelanguage.googleapis.com/.well-known/jwks.json"
    public var jwksFile: String?
    public var jwks = JWKSCacheConfig()
    public var audience: String?
    /// The JWT claim rules; at start the audience, the iat tolerance and how long an untimed token
    /// is remembered come from `audience`, `tolerance` and the dedup TTL (`jwtClaimsPolicy`).
    public var jwtClaims = JWTClaimsPolicy()
    /// A JWT may authorize deliveries with different webhook-ids (no replay memory).
    public var jwtAllowReuse = false
    public var tolerance: Double = 300
    public var data = "./data"
    public var functions = "./Functions/bin"
    /// The public listener (body limit, timeouts); its connection limits are set at start.
    public var http = HTTPServerConfig()
    /// The spool; its directory is set at start from `data`.
    public var spool = SpoolConfig(directory: "")
    /// The workers; their directories and environment are set at start.
    public var dispatch = DispatcherConfig(workRoot: "", baseEnvironment: [])
    /// Result downloads; their directory is set at start.
    public var fetch = FetchStageConfig(resultsRoot: "")
    public var shutdownGrace: Double = 30
    /// The secret replicas sign hand-overs with (`HOOKHOST_PEER_SECRET`); nil: hand-over is off.
    public var peerSecret: PeerSecret?
    /// Where SIGTERM hands unfinished deliveries over (`HOOKHOST_HANDOVER`); nil: they stay.
    public var handover: String?
    public var fetchHosts: [HostPattern] = []
    public var geminiAPIKey: String?
    public var apiBase = FetchPolicy.gemini.apiBase
    /// `HOOKHOST_API_VERSION`: the path prefix of Gemini API calls (webhooks, reconcile).
    public var apiVersion = "v1"
    public var gcsBase = FetchPolicy.gemini.gcsBase
    /// `HOOKHOST_RECONCILE_EVERY`: seconds between in-host reconcile runs; 0: none.
    public var reconcileEvery: Double = 0
    /// `HOOKHOST_RECONCILE_WINDOW`: how far back those runs look.
    public var reconcileWindow = ReconcileWindow.defaultSeconds
    public var gcsTokenFile: String?
    public var logLevel = LogLevel.info
    /// Bytes of log lines kept while stderr is not read; beyond, lines are dropped and counted.
    public var logBuffer = LogSink.defaultCapacity
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

    public init() {
        dispatch.workers = HostConfig.cpuCount
    }

    public static var cpuCount: Int {
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return n > 0 ? n : 1
    }

    /// The names of all variables, in documentation order.
    public static var settingNames: [String] { table.settings.map(\.name) }

    /// The flag for a variable: `HOOKHOST_SECRETS_FILE` → `--secrets-file`, `GEMINI_API_KEY` → `--gemini-api-key`.
    public static func flag(for variable: String) -> String { Setting<HostConfig>.flag(for: variable) }

    /// Applies the environment, then the flags (a flag wins). Unknown flags are errors.
    public static func load(environment: [String: String], arguments: [String]) throws(ConfigError) -> HostConfig {
        var c = HostConfig()
        c.secretFlagsUsed = try table.load(into: &c, environment: environment, arguments: arguments, command: "serve")
        if c.functionUser != nil && c.functionUIDs != nil {
            // Which one would win is not obvious, and guessing wrong shares a uid between functions.
            throw ConfigError(setting: "HOOKHOST_FUNCTION_UIDS (--function-uids)",
                              message: "set either HOOKHOST_FUNCTION_USER (one user for all functions) or HOOKHOST_FUNCTION_UIDS (a uid per function), not both; an empty value unsets one")
        }
        if c.console == .main && ConsoleRoute.owns(c.path) {
            throw ConfigError(setting: "HOOKHOST_PATH (--path)", message: "\(c.path) is the console's with HOOKHOST_CONSOLE=main; deliver to another path")
        }
        if c.handover != nil && c.peerSecret == nil {
            throw ConfigError(setting: "HOOKHOST_HANDOVER (--handover)",
                              message: "a hand-over is signed with HOOKHOST_PEER_SECRET, which is not set; set the same secret on every replica")
        }
        return c
    }

    static func bad(_ s: String, _ m: String) -> ConfigError { ConfigError(setting: s, message: m) }

    /// A value a claim must equal byte for byte. Spaces or a line break around it (a value read
    /// from a file with its newline) would make every JWT fail with a mismatch nobody can see in
    /// the message, so they are refused rather than compared — or silently trimmed.
    static func exactClaim(_ setting: String, _ v: String) throws(ConfigError) -> String {
        guard v.trimmingSpaces == v else {
            throw bad(setting, "has spaces or a line break around it (\"\(v.prefix(80).debugDescription.dropFirst().dropLast())\"); JWT claims are compared exactly, so no token would match")
        }
        return v
    }

    /// A base URL as operators wrote it: without the `/` a bare origin is given.
    /// A base URL as settings show it: without the lone `/` path the parser adds.
    static func showBase(_ u: FetchURL) -> String { u.target == "/" ? String(u.string.dropLast()) : u.string }

    /// The range of every numeric setting, by name.
    public static var ranges: [String: SettingRange] {
        Dictionary(uniqueKeysWithValues: table.settings.compactMap { s in s.range.map { (s.name, $0) } })
    }

    /// Settings whose values are secrets: as flags they are visible in /proc/<pid>/cmdline.
    public static var secretSettings: Set<String> { Set(table.settings.filter(\.isSecret).map(\.name)) }

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

    /// Paths the host answers itself before deliveries are matched (probes, metrics).
    public static let reservedPaths: Set<String> = ["/healthz", "/readyz", "/metrics"]

    /// The delivery path: compared with the request's path after its query is cut off, so a
    /// `?` or `#` in it, or a probe's path, would make a host that never accepts a delivery.
    static func deliveryPath(_ v: String) throws(ConfigError) -> String {
        // A request line carries the path as visible ASCII: a line break left from a file, a tab
        // or a raw non-ASCII character would make a path no request ever has.
        guard v.hasPrefix("/"), v.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw bad("HOOKHOST_PATH", "must start with / and hold only visible ASCII (no spaces, line breaks or raw non-ASCII; percent-encode those), got \(v.prefix(80).debugDescription)")
        }
        guard !v.contains("?"), !v.contains("#") else {
            throw bad("HOOKHOST_PATH", "must not contain ? or # (requests are matched on their path, without a query), got \"\(v)\"")
        }
        guard !reservedPaths.contains(v) else {
            throw bad("HOOKHOST_PATH", "\(v) is reserved for the host's own probes (\(reservedPaths.sorted().joined(separator: ", ")))")
        }
        // Deliveries are matched first: peers' hand-overs would arrive as deliveries and fail
        // their verification, so a drain could never hand anything to this host.
        guard v != HandoverReceiver.path else {
            throw bad("HOOKHOST_PATH", "\(v) is where replicas hand deliveries over to each other (hookhost drain --handover); deliver to another path")
        }
        return v
    }
}
