/// Each component's own configuration, composed from the host's settings (one place, so a new
/// setting is wired once).
extension HostConfig {
    /// The spool in `dataDir`.
    public func spoolConfig(dataDir: String) -> SpoolConfig {
        var c = SpoolConfig(directory: dataDir)
        c.dedupTTL = dedupTTL
        c.retention = retention
        c.queueMax = queueMax
        // About one maximal delivery must fit before a failed spool counts as writable again.
        c.minFreeBytes = Int64(maxBody) + (64 << 10)
        return c
    }

    /// The workers. `hostEnvironment` is what a sidecar's `pass_env` may pick from; the host's
    /// own `HOOKHOST_*` variables are never among it. `identities`: the uids of
    /// `HOOKHOST_FUNCTION_UIDS`, one instance shared with the downloads.
    public func dispatcherConfig(dataDir: String, baseEnvironment: [String], hostEnvironment: [String: String],
                                 identities: FunctionIdentities? = nil) -> DispatcherConfig {
        var c = DispatcherConfig(workRoot: dataDir + "/work", baseEnvironment: baseEnvironment)
        c.workers = workers
        c.functionTimeout = functionTimeout
        c.retry = RetryPolicy(base: retryBase, cap: retryCap, maxAttempts: maxAttempts)
        c.functionUser = functionUser
        c.functionIdentities = identities
        c.retryLaterFor = retryLaterFor
        c.passableEnvironment = hostEnvironment.filter { !Invocation.isHostOnly($0.key) }
        return c
    }

    /// Result downloads into `dataDir/results`.
    public func fetchStageConfig(dataDir: String, identities: FunctionIdentities? = nil) -> FetchStageConfig {
        var c = FetchStageConfig(resultsRoot: dataDir + "/results")
        c.fetchers = fetchers
        c.keepResults = keepResults
        c.owner = functionUser
        c.identities = identities
        return c
    }

    /// The public listener's limits; `maxConnections` is what the descriptor budget allows.
    public func httpServerConfig(maxConnections: Int) -> HTTPServerConfig {
        var c = HTTPServerConfig()
        c.limits.maxBodyBytes = maxBody
        c.readTimeout = readTimeout
        c.idleTimeout = idleTimeout
        c.maxConnectionsPerLoop = max(1, (maxConnections + httpThreads - 1) / httpThreads)
        // Room for a few maximal deliveries per loop at once, and never less than 64 MiB in all.
        c.maxBufferedBytesPerLoop = max(64 << 20, 4 * maxBody) / httpThreads + maxBody
        return c
    }
}
