import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch
/// Each component's own configuration, composed from the host's settings (one place, so a new
/// setting is wired once).
extension HostConfig {
    /// The spool in `dataDir`.
    public func spoolConfig(dataDir: String) -> SpoolConfig {
        var c = spool
        c.directory = dataDir
        // About one maximal delivery must fit before a failed spool counts as writable again.
        c.minFreeBytes = Int64(http.limits.maxBodyBytes) + (64 << 10)
        return c
    }

    /// The claim checks of JWT deliveries: the JWT settings, with the audience, the iat tolerance
    /// (`HOOKHOST_TOLERANCE`, as for webhook-timestamp) and how long a token without exp or iat
    /// is remembered (`HOOKHOST_DEDUP_TTL`, as long as a webhook-id).
    public var jwtClaimsPolicy: JWTClaimsPolicy {
        var p = jwtClaims
        p.audience = audience
        p.issuedWithin = tolerance
        p.untimedMemory = spool.dedupTTL
        return p
    }

    /// How long a captured delivery still verifies when sent again: a webhook signature within
    /// `HOOKHOST_TOLERANCE` of its timestamp, a JWT until its `exp` (at most
    /// `HOOKHOST_JWT_MAX_LIFETIME` away, plus the leeway on either side).
    public var replayableFor: Double { max(tolerance, jwtClaims.maxLifetime + 2 * jwtClaims.leeway) }

    /// Said at start when ids are forgotten before deliveries stop verifying: sent again under its
    /// id after that, a delivery is no duplicate any more and runs again.
    public var dedupShorterThanReplayWarning: String? {
        guard spool.dedupTTL < replayableFor else { return nil }
        return "HOOKHOST_DEDUP_TTL (\(SettingRange.format(spool.dedupTTL)) s) is shorter than a delivery still verifies when sent again "
            + "(HOOKHOST_TOLERANCE \(SettingRange.format(tolerance)) s for webhook signatures, HOOKHOST_JWT_MAX_LIFETIME "
            + "\(SettingRange.format(jwtClaims.maxLifetime)) s plus \(SettingRange.format(2 * jwtClaims.leeway)) s leeway for JWTs): "
            + "a delivery replayed under its id once the id is forgotten runs again; raise HOOKHOST_DEDUP_TTL to at least "
            + "\(SettingRange.format(replayableFor.rounded(.up))) or lower the others"
    }

    /// The workers. `hostEnvironment` is what a sidecar's `pass_env` may pick from; the host's
    /// own `HOOKHOST_*` variables are never among it. `identities`: the uids of
    /// `HOOKHOST_FUNCTION_UIDS`, one instance shared with the downloads.
    public func dispatcherConfig(dataDir: String, baseEnvironment: [String], hostEnvironment: [String: String],
                                 identities: FunctionIdentities? = nil) -> DispatcherConfig {
        var c = dispatch
        c.workRoot = dataDir + "/work"
        c.baseEnvironment = baseEnvironment
        c.functionUser = functionUser
        c.functionIdentities = identities
        c.passableEnvironment = hostEnvironment.filter { !Invocation.isHostOnly($0.key) }
        // An emitted event is a delivery like any other: no larger than one from outside.
        c.emit.maxEventBytes = http.limits.maxBodyBytes
        return c
    }

    /// Result downloads into `dataDir/results`.
    public func fetchStageConfig(dataDir: String, identities: FunctionIdentities? = nil) -> FetchStageConfig {
        var c = fetch
        c.resultsRoot = dataDir + "/results"
        c.owner = functionUser
        c.identities = identities
        return c
    }

    /// The public listener's limits; `maxConnections` is what the descriptor budget allows.
    public func httpServerConfig(maxConnections: Int) -> HTTPServerConfig {
        var c = http
        let maxBody = http.limits.maxBodyBytes
        // A hand-over carries a maximal delivery in base64 with its history: its own limit.
        if peerSecret != nil { c.limits.largerBodies[HandoverReceiver.path] = HandoverReceiver.maxEnvelopeBytes(maxBody: maxBody) }
        c.maxConnectionsPerLoop = max(1, (maxConnections + httpThreads - 1) / httpThreads)
        // Room for a few maximal deliveries per loop at once (and one maximal request of any
        // kind), and never less than 64 MiB in all.
        c.maxBufferedBytesPerLoop = max(64 << 20, 4 * maxBody) / httpThreads + c.limits.largestBody
        return c
    }
}
