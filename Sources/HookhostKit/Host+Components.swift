import CSys
import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The host's parts, made in `prepare` and `start`: spool, metrics, reaper, dispatcher, servers.
extension Host {
    func openSpool(_ dataDir: String) throws(ConfigError) -> Spool {
        do { return try Spool(config: config.spoolConfig(dataDir: dataDir), logger: logger) } catch {
            throw ConfigError(setting: "HOOKHOST_DATA (--data)", message: "cannot open the spool: \(error)")
        }
    }

    /// The registry and its scrape-time gauges (the JWKS cache is filled in once it exists: it
    /// counts its fetches in the registry it is given; so is the endpoint whose readiness
    /// `hookhost_ready` reports).
    func makeMetrics(spool: Spool, dataDir: String) -> (registry: Metrics, jwks: Late<JWKSCache>, readiness: Late<DeliveryEndpoint>) {
        let jwksRef = Late<JWKSCache>()
        let readiness = Late<DeliveryEndpoint>()
        let logger = self.logger
        let metrics = Metrics(gauges: { [jwksRef, readiness] in
            [("hookhost_queue_depth", Double(spool.queueDepth)), ("hookhost_dead_letters", Double(spool.deadCount))]
                + OperatorGauges.sample(spool: spool, spoolLog: dataDir + "/spool.log", now: spool.clock.now())
                + OperatorGauges.disk(dataDir)
                + (readiness.get().map { [("hookhost_ready", $0.readinessProblems().isEmpty ? 1 : 0)] } ?? [])
                + (jwksRef.get().map { Host.jwksGauges($0.status) } ?? [])
        })
        OperatorGauges.describe(in: metrics)
        metrics.describe("hookhost_log_lines_dropped_total", "Log lines dropped because stderr was not read fast enough (the host never waits for its log) or refused them (a closed pipe, a full disk).")
        metrics.sampledCounter("hookhost_log_lines_dropped_total") { Double(logger.droppedLines) }
        return (metrics, jwksRef, readiness)
    }

    /// Clears what a previous run left in DATA/work, then starts the reaper.
    func startReaper(dataDir: String, switchesUser: Bool) throws(ConfigError) -> Reaper {
        let leftovers = Leftovers.kill(workRoot: dataDir + "/work")
        if !leftovers.isEmpty {
            logger.warn("killed functions a previous run of this host left running (their deliveries run again)",
                        ["pids": .string(leftovers.map(String.init).joined(separator: ","))])
        }
        FileSystem.removeTree(dataDir + "/work")  // scratch dirs of runs interrupted by a crash
        _ = FileSystem.makeDirectories(dataDir + "/work")
        if switchesUser { Host.letOthersTraverse([dataDir, dataDir + "/work"]) }
        let reaper = Reaper(logger: logger)
        reaper.start()
        return reaper
    }

    /// The workers and the result downloads (started later, after the servers).
    func makeDispatcher(_ g: Ground, spool: Spool, reaper: Reaper, metrics: Metrics) throws(ConfigError) -> Dispatcher {
        let dispatcherConfig = config.dispatcherConfig(dataDir: g.dataDir, baseEnvironment: Host.functionBaseEnvironment(),
                                                       hostEnvironment: FileSystem.environment(), identities: g.identities)
        let launcher = PosixProcessLauncher(user: config.functionUser, reaper: reaper)
        let policy = FetchPolicy(apiBase: config.apiBase, gcsBase: config.gcsBase, extraHosts: config.fetchHosts)
        let fetchConfig = config.fetchStageConfig(dataDir: g.dataDir, identities: g.identities)
        _ = FileSystem.makeDirectories(fetchConfig.resultsRoot)
        if config.functionUser != nil || g.identities != nil { Host.letOthersTraverse([fetchConfig.resultsRoot]) }
        let fetcher = CurlFetcher(policy: policy, credentials: FetchCredentials(apiKey: config.geminiAPIKey, gcsTokenFile: config.gcsTokenFile))
        return Dispatcher(spool: spool, table: g.table, launcher: launcher, config: dispatcherConfig, logger: logger, metrics: metrics,
                          fetcher: fetcher, policy: policy, fetchConfig: fetchConfig, pauses: g.pauses)
    }

    /// The public listener's server, the admin listener's and the control socket's, all made
    /// before any is started: a host whose /readyz, /metrics or `hookhost deliveries` would
    /// answer nowhere does not start.
    func makeServers(_ g: Ground, spool: Spool, endpoint: any HTTPResponder, adminEndpoint: (any HTTPResponder)?,
                             tls: TLSCertificates?, drainer: Drainer? = nil, reporting: ReconcileAdmission.Reporting,
                             status: @escaping @Sendable () -> StatusReport) throws(ConfigError) -> (main: HTTPServer, admin: HTTPServer?, control: HTTPServer, maxConnections: Int) {
        let fileLimit = FileBudget.currentLimit()
        let maxConnections = FileBudget.connections(limit: fileLimit, inUse: FileBudget.openCount() + 8, workers: config.dispatch.workers,
                                                    fetchers: config.fetch.fetchers)
        let httpConfig = config.httpServerConfig(maxConnections: maxConnections)
        if maxConnections < 64 {
            logger.warn("the file descriptor limit leaves room for few connections; raise it (ulimit -n)",
                        ["limit": .int(fileLimit), "connections": .int(maxConnections)])
        }
        let server: HTTPServer
        do { server = try HTTPServer(listeners: [g.listenFD], loops: config.httpThreads, config: httpConfig, tls: tls, responder: endpoint, logger: logger) } catch {
            throw ConfigError(setting: "RLIMIT_NOFILE (ulimit -n)", message: "cannot create the HTTP event loops: \(error); raise the descriptor limit")
        }
        var adminServer: HTTPServer?
        if let adminFD = g.adminFD, let adminEndpoint, let admin = config.adminListen {
            do { adminServer = try HTTPServer(listeners: [adminFD], loops: 1, config: HTTPServerConfig(), responder: adminEndpoint, logger: logger) } catch {
                throw ConfigError(setting: "HOOKHOST_ADMIN_LISTEN (--admin-listen)", message: "cannot serve \(admin): \(error)")
            }
        }
        let controlPath = ControlSocketPath.full(g.dataDir)
        var admin = SpoolAdmin(spool: spool, functions: g.table, pauses: g.pauses)
        admin.reconcileReporting = reporting
        if let drainer { admin.draining = { drainer.progress.draining } }
        let controlServer: HTTPServer
        do {
            // Bound through a short alias of the data directory when its path is too long for sun_path.
            let cfd = try ControlSocketPath.withShortPath(g.dataDir) { try Listener.open(.unix(path: $0)).fd }
            // A socket has no descriptor to fchmod its file through: AT_SYMLINK_NOFOLLOW changes
            // the node itself (glibc opens it O_PATH), never a symlink's target swapped in.
            fchmodat(AT_FDCWD, controlPath, 0o600, AT_SYMLINK_NOFOLLOW)
            controlServer = try HTTPServer(listeners: [cfd], loops: 1, config: HTTPServerConfig(),
                                           responder: ControlEndpoint(admin: admin, status: status, drain: drainer),
                                           logger: logger)
        } catch {
            throw ConfigError(setting: "HOOKHOST_DATA (--data)",
                              message: "cannot create the control socket \(controlPath) (`hookhost deliveries` talks to the running host through it): \(error)")
        }
        return (server, adminServer, controlServer, httpConfig.maxConnectionsPerLoop * config.httpThreads)
    }
}
