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

/// `hookhost serve`: wires spool, dispatcher and HTTP server together and runs until SIGTERM.
public final class Host: Sendable {
    public let config: HostConfig
    let logger: Logger

    public init(config: HostConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Runs in the foreground. Returns the exit code: 0 after a clean drain, 1 on runtime failure;
    /// configuration problems throw (exit 2).
    public func run() throws(ConfigError) -> Int32 {
        // Signals are taken synchronously by the main thread (sigwait below). Block them before
        // any thread exists: threads inherit the mask, and an unblocked thread would otherwise
        // receive a second SIGTERM and die by its default action. Functions get a clean mask.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)  // a function closing stdin early must not kill the host
        Host.raiseFileLimit()
        if let u = config.functionUser, !FunctionUser.mayRunFunctionsAsAnotherUser() {
            throw ConfigError(setting: "HOOKHOST_FUNCTION_USER (--function-user)",
                              message: "running functions as \(u) needs the host to start as root or with CAP_SETUID, CAP_SETGID and CAP_KILL")
        }
        // Orphans of functions (setsid, double forks) come to us, not init: the reaper kills them.
        if !Reaper.becomeSubreaper() { logger.warn("cannot become a child subreaper; processes functions detach may outlive them") }
        let table = FunctionTable(directory: FileSystem.absolute(config.functions))
        guard table.exists else {
            throw ConfigError(setting: "HOOKHOST_FUNCTIONS (--functions)", message: "functions directory \(config.functions) does not exist")
        }
        var identities: FunctionIdentities?
        if let range = config.functionUIDs {
            let made = try Host.functionIdentities(range, table: table)
            logger.info("functions run as uids of their own", ["range": .string(range.description), "functions": .int(made.assigned.count)])
            identities = made
        }
        let switchesUser = config.functionUser != nil || identities != nil
        for name in table.notExecutable() {
            logger.warn("function file is not executable (chmod +x); its deliveries are skipped or go to the next match", ["file": .string(name)])
        }
        let secrets = try SecretsStore(fixed: config.secrets, file: config.secretsFile, tolerance: config.tolerance, logger: logger)
        if secrets.count == 0 {
            logger.warn("no HMAC secrets configured: only dynamic (JWT) deliveries can verify")
        }
        let dataDir = FileSystem.absolute(config.data)
        guard FileSystem.makeDirectories(dataDir) else {
            throw ConfigError(setting: "HOOKHOST_DATA (--data)", message: "cannot create \(config.data): \(String(cString: strerror(errno)))")
        }
        let lock = try DataLock.acquire(dataDir)
        _ = lock
        let (listenFD, port): (Int32, UInt16)
        do { (listenFD, port) = try Listener.open(config.listen) } catch {
            throw ConfigError(setting: "HOOKHOST_LISTEN (--listen)", message: "cannot listen on \(config.listen): \(error)")
        }
        var adminFD: Int32?
        if let admin = config.adminListen {
            do {
                let (fd, port) = try Listener.open(admin)
                adminFD = fd
                logger.info("admin listening (/metrics, /readyz, /healthz)", ["address": .string(admin.description(boundPort: port))])
            } catch {
                throw ConfigError(setting: "HOOKHOST_ADMIN_LISTEN (--admin-listen)", message: "cannot listen on \(admin): \(error)")
            }
        }
        let spool: Spool
        do { spool = try Spool(config: config.spoolConfig(dataDir: dataDir), logger: logger) } catch {
            throw ConfigError(setting: "HOOKHOST_DATA (--data)", message: "cannot open the spool: \(error)")
        }
        var lifecycle = Lifecycle(logger: logger)
        let writerBoosted = spool.startWriter()
        lifecycle.started("spool writer") { spool.stopWriter() }  // last: it flushes what the others recorded

        let jwksRef = Mutex<JWKSCache?>(nil)  // the gauges read the cache, which counts its fetches in `metrics`
        let metrics = Metrics(gauges: {
            [("hookhost_queue_depth", Double(spool.queueDepth)), ("hookhost_dead_letters", Double(spool.deadCount))]
                + OperatorGauges.sample(spool: spool, spoolLog: dataDir + "/spool.log", now: spool.clock.now())
                + (jwksRef.withLock { $0 }.map { Host.jwksGauges($0.status) } ?? [])
        })
        OperatorGauges.describe(in: metrics)
        metrics.describe("hookhost_log_lines_dropped_total", "Log lines dropped because stderr was not read fast enough (the host never waits for its log).")
        metrics.sampledCounter("hookhost_log_lines_dropped_total") { [logger] in Double(logger.droppedLines) }
        let jwks = try startJWKS(metrics: metrics)
        jwksRef.withLock { $0 = jwks }
        lifecycle.started("jwks refresher") { jwks.stop() }
        let dispatcherConfig = config.dispatcherConfig(dataDir: dataDir, baseEnvironment: Host.functionBaseEnvironment(),
                                                       hostEnvironment: FileSystem.environment(), identities: identities)
        let leftovers = Leftovers.kill(workRoot: dataDir + "/work")
        if !leftovers.isEmpty {
            logger.warn("killed functions a previous run of this host left running (their deliveries run again)",
                        ["pids": .string(leftovers.map(String.init).joined(separator: ","))])
        }
        FileSystem.removeTree(dataDir + "/work")  // scratch dirs of runs interrupted by a crash
        _ = FileSystem.makeDirectories(dataDir + "/work")
        if switchesUser { Host.letOthersTraverse([dataDir, dataDir + "/work"]) }
        let reaper = Reaper(logger: logger)
        reaper.startPeriodic()
        lifecycle.started("reaper") {
            reaper.stopPeriodic()
            reaper.sweep(final: true)  // nothing a function started outlives the host
        }
        let launcher = PosixProcessLauncher(user: config.functionUser, reaper: reaper)
        let policy: FetchPolicy
        do { policy = try FetchPolicy(apiBase: config.apiBase, gcsBase: config.gcsBase, fetchHosts: config.fetchHosts) } catch {
            lifecycle.shutdown()
            throw error
        }
        let fetchConfig = config.fetchStageConfig(dataDir: dataDir, identities: identities)
        _ = FileSystem.makeDirectories(fetchConfig.resultsRoot)
        if switchesUser { Host.letOthersTraverse([fetchConfig.resultsRoot]) }
        let fetcher = CurlFetcher(policy: policy, credentials: FetchCredentials(apiKey: config.geminiAPIKey, gcsTokenFile: config.gcsTokenFile))
        let dispatcher = Dispatcher(spool: spool, table: table, launcher: launcher, config: dispatcherConfig, logger: logger, metrics: metrics,
                                    fetcher: fetcher, policy: policy, fetchConfig: fetchConfig)

        let jwtVerifier = JWTVerifier(claims: config.jwtClaimsPolicy, tolerance: config.tolerance)
        let authenticator = SignatureRouter(hmac: HMACAuthenticator(verifier: { secrets.verifier }),
                                            jwt: JWTAuthenticator(verifier: jwtVerifier, keys: jwks,
                                                                  replay: config.jwtAllowReuse ? nil : spool.replayMemory, logger: logger))
        warnAboutJWTChecks()
        let config = self.config, logger = self.logger
        func makeEndpoint(serving surface: DeliveryEndpoint.Surface) -> DeliveryEndpoint {
            DeliveryEndpoint(path: config.path, authenticator: authenticator, spool: spool, metrics: metrics, logger: logger,
                             functionsReady: { table.exists }, jwksStatus: { jwks.status },
                             verificationProblem: { VerificationReadiness.problem(hmacSecrets: secrets.count, jwks: jwks.status) },
                             surface: surface)
        }
        let endpoint = makeEndpoint(serving: adminFD == nil ? .all : .deliveriesOnly)
        let adminEndpoint = adminFD.map { _ in makeEndpoint(serving: .probesOnly) }
        // Without secrets only JWT deliveries can verify: fetch the keys now rather than on the
        // first JWT delivery, so /readyz can say whether anything verifies at all.
        if secrets.count == 0 && config.jwksFile == nil { jwks.reload() }
        let fileLimit = FileBudget.currentLimit()
        let maxConnections = FileBudget.connections(limit: fileLimit, inUse: FileBudget.openCount() + 8, workers: config.dispatch.workers,
                                                    fetchers: config.fetch.fetchers)
        let httpConfig = config.httpServerConfig(maxConnections: maxConnections)
        if maxConnections < 64 {
            logger.warn("the file descriptor limit leaves room for few connections; raise it (ulimit -n)",
                        ["limit": .int(fileLimit), "connections": .int(maxConnections)])
        }
        let tls = try loadTLS()
        let server: HTTPServer
        do { server = try HTTPServer(listeners: [listenFD], loops: config.httpThreads, config: httpConfig, tls: tls, responder: endpoint, logger: logger) } catch {
            lifecycle.shutdown()
            throw ConfigError(setting: "RLIMIT_NOFILE (ulimit -n)", message: "cannot create the HTTP event loops: \(error); raise the descriptor limit")
        }

        // The admin listener and the control socket are made before anything is served: a host
        // whose /readyz, /metrics or `hookhost deliveries` would answer nowhere does not start.
        var adminServer: HTTPServer?
        if let adminFD, let adminEndpoint, let admin = config.adminListen {
            do { adminServer = try HTTPServer(listeners: [adminFD], loops: 1, config: HTTPServerConfig(), responder: adminEndpoint, logger: logger) } catch {
                lifecycle.shutdown()
                throw ConfigError(setting: "HOOKHOST_ADMIN_LISTEN (--admin-listen)", message: "cannot serve \(admin): \(error)")
            }
        }
        let controlPath = ControlSocketPath.full(dataDir)
        let controlServer: HTTPServer
        do {
            // Bound through a short alias of the data directory when its path is too long for sun_path.
            let cfd = try ControlSocketPath.withShortPath(dataDir) { try Listener.open(.unix(path: $0)).fd }
            chmod(controlPath, 0o600)
            controlServer = try HTTPServer(listeners: [cfd], loops: 1, config: HTTPServerConfig(),
                                           responder: ControlEndpoint(admin: SpoolAdmin(spool: spool, functions: table)), logger: logger)
        } catch {
            lifecycle.shutdown()
            throw ConfigError(setting: "HOOKHOST_DATA (--data)",
                              message: "cannot create the control socket \(controlPath) (`hookhost deliveries` talks to the running host through it): \(error)")
        }

        // Without the privilege to raise the spool writer's priority, lower the HTTP loops' a
        // little instead so the writer still gets a CPU as soon as its fsync returns.
        server.start(nice: writerBoosted ? nil : 5)
        lifecycle.started("http server") { server.stop(); server.join() }
        if !writerBoosted { logger.debug("spool writer priority not raised (no CAP_SYS_NICE); HTTP loops run at nice 5") }
        if let adminServer {
            adminServer.start()
            lifecycle.started("admin listener") { adminServer.stop(); adminServer.join() }
        }
        controlServer.start()
        lifecycle.started("control socket") { controlServer.stop(); controlServer.join(); unlink(controlPath) }
        // After the servers, so it is drained before they stop: deliveries and /readyz keep their
        // 503 answers while running functions finish.
        dispatcher.start()
        lifecycle.started("dispatcher") { dispatcher.drain(grace: self.config.shutdownGrace) }
        logger.info("listening", ["address": .string(config.listen.description(boundPort: port)), "path": .string(config.path), "functions": .string(table.directory), "tls": .bool(tls != nil),
                                  "data": .string(dataDir), "workers": .int(config.dispatch.workers), "secrets": .int(secrets.count),
                                  "max_connections": .int(httpConfig.maxConnectionsPerLoop * config.httpThreads)])

        if !config.secretFlagsUsed.isEmpty {
            logger.warn("secrets were given as flags, readable by every local user in the process's arguments until the host blanked them at start; use the environment (HOOKHOST_SECRETS, GEMINI_API_KEY) or HOOKHOST_SECRETS_FILE",
                        ["flags": .string(config.secretFlagsUsed.joined(separator: ","))])
        }
        if config.secretsFile != nil {
            let watch = SecretsWatch(secrets: secrets)
            watch.start()
            lifecycle.started("secrets watch") { watch.stop() }
        }
        while true {
            var sig: Int32 = 0
            sigwait(&set, &sig)
            if sig == SIGHUP {
                logger.info("SIGHUP: reloading secrets and the JWKS")
                secrets.reload(force: true)
                jwks.reload()
                reloadTLS(tls)
                continue
            }
            break
        }
        logger.info("shutting down: draining", ["grace_s": .double(config.shutdownGrace), "running": .int(dispatcher.running)])
        // Stop accepting first (503 + Retry-After, /readyz 503), then stop the rest in reverse start
        // order: secrets watch, dispatcher (workers joined; runs that finish in time record their
        // state), control socket, HTTP server, reaper (final sweep), spool writer (flushed, joined).
        endpoint.startDraining()
        adminEndpoint?.startDraining()
        jwks.startDraining("draining for shutdown; retry later")
        lifecycle.shutdown()
        logger.info("stopped", ["unfinished": .int(spool.queueDepth)])
        return 0
    }


}

