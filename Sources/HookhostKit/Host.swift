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
    /// configuration problems throw (exit 2), after stopping whatever had already started.
    public func run() throws(ConfigError) -> Int32 {
        let signals = Host.takeSignals()
        let ground = try prepare()
        var services = ServiceGroup(logger: logger)
        let running: Running
        do { running = try start(on: ground, into: &services) } catch {
            services.shutdown()
            throw error
        }
        waitForSignals(signals, running)
        logger.info("shutting down: draining", ["grace_s": .double(config.shutdownGrace), "running": .int(running.dispatcher.running)])
        // Stop accepting first (503 + Retry-After, /readyz 503), then stop the rest in reverse start
        // order: secrets watch, dispatcher (workers joined; runs that finish in time record their
        // state), control socket, HTTP server, reaper (final sweep), spool writer (flushed, joined).
        for endpoint in running.endpoints { endpoint.startDraining(.shutdown) }
        running.jwks.startDraining("shutting down; retry later")
        running.graceLeft.set(drainWithHandover(running))
        services.shutdown()
        logger.info("stopped", ["unfinished": .int(running.spool.queueDepth)])
        withExtendedLifetime(ground.lock) {}  // held until the end: another host on this data directory must not start
        return 0
    }

    /// What start-up checks and opens before any thread runs: nothing here needs stopping.
    struct Ground {
        let table: FunctionTable
        let identities: FunctionIdentities?
        let secrets: SecretsStore
        let dataDir: String
        let lock: DataLock
        let listenFD: Int32
        let port: UInt16
        let adminFD: Int32?
        let tls: TLSCertificates?
        let pauses: FunctionPauses
    }

    /// Checks the settings against the machine and opens the data directory and the listeners.
    private func prepare() throws(ConfigError) -> Ground {
        Host.raiseFileLimit()
        if let u = config.functionUser, !FunctionUser.mayRunFunctionsAsAnotherUser() {
            throw ConfigError(setting: "HOOKHOST_FUNCTION_USER (--function-user)",
                              message: "running functions as \(u) needs the host to start as root or with CAP_SETUID, CAP_SETGID and CAP_KILL")
        }
        if let u = config.functionUser, let problem = Host.functionUserProblem(u, hostUID: geteuid(), hostGID: getegid()) {
            throw ConfigError(setting: "HOOKHOST_FUNCTION_USER (--function-user)", message: problem)
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
        for name in table.notExecutable() {
            logger.warn("function file is not executable (chmod +x); its deliveries are skipped or go to the next match", ["file": .string(name)])
        }
        for m in table.misnamed() {
            logger.warn(m.problem, ["file": .string(m.file), "did_you_mean": .string(m.meant)])
        }
        for c in table.directoryRoutes().table.conflicts() {
            logger.warn("route conflict", ["functions": .string(c.functions.joined(separator: ",")), "problem": .string(c.problem)])
        }
        // Files a typo can break, read before anything is opened or changed: recovering a large
        // spool takes a while, and leftover functions are killed and the work directory cleared
        // once it is open — none of which a start that fails on a key file should cost.
        let tls = try loadTLS()
        try checkJWKSFile()
        let secrets = try SecretsStore(fixed: config.secrets, file: config.secretsFile, tolerance: config.tolerance, logger: logger)
        if secrets.count == 0 {
            logger.warn("no HMAC secrets configured: only dynamic (JWT) deliveries can verify")
        }
        let dataDir = FileSystem.absolute(config.data)
        guard FileSystem.makeDirectories(dataDir) else {
            throw ConfigError(setting: "HOOKHOST_DATA (--data)", message: "cannot create \(config.data): \(String(cString: strerror(errno)))")
        }
        let lock = try DataLock.acquire(dataDir)
        let pauses = try loadPauses(dataDir)
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
        return Ground(table: table, identities: identities, secrets: secrets, dataDir: dataDir, lock: lock,
                      listenFD: listenFD, port: port, adminFD: adminFD, tls: tls, pauses: pauses)
    }

    /// The paused functions of the data directory. A pause file that cannot be read refuses the
    /// start: guessing would run functions an operator stopped, or hold back all of them.
    private func loadPauses(_ dataDir: String) throws(ConfigError) -> FunctionPauses {
        let pauses: FunctionPauses
        do { pauses = try FunctionPauses.load(directory: dataDir) } catch {
            throw ConfigError(setting: "HOOKHOST_DATA (--data)", message: "\(error); fix it, or delete it to resume every function")
        }
        let paused = pauses.list.names
        if !paused.isEmpty {
            logger.warn("functions paused: their deliveries are stored but none runs until `hookhost functions resume NAME`",
                        ["functions": .string(paused.joined(separator: ","))])
        }
        return pauses
    }

    /// What runs once the host is up, for the signal loop and the drain.
    struct Running {
        let spool: Spool
        let jwks: JWKSCache
        let secrets: SecretsStore
        let dispatcher: Dispatcher
        let endpoints: [DeliveryEndpoint]
        let tls: TLSCertificates?
        let drainer: Drainer
        /// Seconds running functions get at shutdown (less after a hand-over took part of the grace).
        let graceLeft: Late<Double>
    }

    /// Starts every service in dependency order, each registered in `services` as soon as it
    /// runs, so a step that fails leaves the caller able to stop exactly what started.
    private func start(on g: Ground, into services: inout ServiceGroup) throws(ConfigError) -> Running {
        let startedAt = SystemClock().now()
        let spool = try openSpool(g.dataDir)
        let writerBoosted = spool.startWriter()
        services.started("spool writer") { spool.stopWriter() }  // last: it flushes what the others recorded
        let metrics = makeMetrics(spool: spool, dataDir: g.dataDir)
        let jwks = try startJWKS(metrics: metrics.registry)
        metrics.jwks.set(jwks)
        services.started("jwks refresher") { jwks.stop() }
        let reaper = try startReaper(dataDir: g.dataDir, switchesUser: config.functionUser != nil || g.identities != nil)
        services.started("reaper") { reaper.stop() }
        let dispatcher = try makeDispatcher(g, spool: spool, reaper: reaper, metrics: metrics.registry)

        let jwtVerifier = JWTVerifier(claims: config.jwtClaimsPolicy, tolerance: config.tolerance)
        let secrets = g.secrets
        let authenticator = SignatureRouter(hmac: HMACAuthenticator(verifier: { secrets.verifier }),
                                            jwt: JWTAuthenticator(verifier: jwtVerifier, keys: jwks,
                                                                  replay: config.jwtAllowReuse ? nil : spool.replayMemory, logger: logger))
        warnAboutJWTChecks()
        let config = self.config, logger = self.logger, table = g.table
        let receiver = makeHandoverReceiver(spool: spool, metrics: metrics.registry)
        func makeEndpoint(serving surface: DeliveryEndpoint.Surface) -> DeliveryEndpoint {
            DeliveryEndpoint(path: config.path, authenticator: authenticator, spool: spool, metrics: metrics.registry, logger: logger,
                             functionsReady: { table.exists }, jwksStatus: { jwks.status },
                             verificationProblem: { let usable = secrets.usableCount
                                                    return VerificationReadiness.problem(hmacSecrets: usable, expiredSecrets: secrets.count - usable, jwks: jwks.status) },
                             surface: surface, handover: receiver)
        }
        let endpoint = makeEndpoint(serving: g.adminFD == nil ? .all : .deliveriesOnly)
        let adminEndpoint = g.adminFD.map { _ in makeEndpoint(serving: .probesOnly) }
        metrics.readiness.set(endpoint)
        let parts = StatusParts(spool: spool, table: table, secrets: secrets, jwks: jwks, endpoint: endpoint, startedAt: startedAt,
                                listen: config.listen.description(boundPort: g.port), dataDir: g.dataDir)
        // Without secrets only JWT deliveries can verify: fetch the keys now rather than on the
        // first JWT delivery, so /readyz can say whether anything verifies at all.
        if secrets.count == 0 && config.jwksFile == nil { jwks.reload() }
        let tls = g.tls
        let endpoints = [endpoint] + (adminEndpoint.map { [$0] } ?? [])
        let drainer = makeDrainer(spool: spool, dispatcher: dispatcher, metrics: metrics.registry, listen: config.listen.description(boundPort: g.port)) {
            for e in endpoints { e.startDraining(.drain) }
            // A SIGTERM's drain (HOOKHOST_HANDOVER) keeps saying "shutting down".
            jwks.startDraining("\(endpoint.stopping?.reason ?? "draining"); retry later")
        }
        let reporting = ReconcileAdmission.Reporting(metrics: metrics.registry, logger: logger)
        let status: @Sendable () -> StatusReport = { [self] in statusReport(parts) }
        let mount = startConsole(g, spool: spool, metrics: metrics.registry, status: status, into: &services)
        let servers = try makeServers(g, spool: spool, endpoint: mount(endpoint, .main), adminEndpoint: adminEndpoint.map { mount($0, .admin) },
                                      tls: tls, drainer: drainer, reporting: reporting, status: status)

        // Without the privilege to raise the spool writer's priority, lower the HTTP loops' a
        // little instead so the writer still gets a CPU as soon as its fsync returns.
        servers.main.start(nice: writerBoosted ? nil : 5)
        services.started("http server") { servers.main.stop(); servers.main.join() }
        if !writerBoosted { logger.debug("spool writer priority not raised (no CAP_SYS_NICE); HTTP loops run at nice 5") }
        if let admin = servers.admin {
            admin.start()
            services.started("admin listener") { admin.stop(); admin.join() }
        }
        servers.control.start()
        let controlPath = ControlSocketPath.full(g.dataDir)
        services.started("control socket") { servers.control.stop(); servers.control.join(); unlink(controlPath) }
        // After the servers, so it is drained before they stop: deliveries and /readyz keep their
        // 503 answers while running functions finish.
        dispatcher.start()
        let graceLeft = Late<Double>()
        services.started("dispatcher") { dispatcher.drain(grace: graceLeft.get() ?? config.shutdownGrace) }
        // Before the dispatcher stops: a drain under way finishes its hand-over first.
        services.started("drain") { drainer.join() }
        // Once nothing can fail any more: a start refused for its configuration logs only why.
        logFunctions(table)
        logVerificationSources(secrets: secrets, jwks: jwks)
        logFetchSources()
        logger.info("listening", ["address": .string(config.listen.description(boundPort: g.port)), "path": .string(config.path), "functions": .string(table.directory), "tls": .bool(tls != nil),
                                  "data": .string(g.dataDir), "workers": .int(config.dispatch.workers), "secrets": .int(secrets.count),
                                  "max_connections": .int(servers.maxConnections)])
        if !config.secretFlagsUsed.isEmpty {
            logger.warn("secrets were given as flags, readable by every local user in the process's arguments until the host blanked them at start; use the environment (HOOKHOST_SECRETS, GEMINI_API_KEY) or HOOKHOST_SECRETS_FILE",
                        ["flags": .string(config.secretFlagsUsed.joined(separator: ","))])
        }
        if config.secretsFile != nil { services.start("secrets watch", SecretsWatch(secrets: secrets)) }
        startReconcileTimer(spool: spool, reporting: reporting, draining: { drainer.progress.draining }, into: &services)
        return Running(spool: spool, jwks: jwks, secrets: secrets, dispatcher: dispatcher, endpoints: endpoints, tls: tls,
                       drainer: drainer, graceLeft: graceLeft)
    }
}
