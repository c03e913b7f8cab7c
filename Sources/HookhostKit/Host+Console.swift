import HookSupport
import HookNet
import HookHTTP
import HookSpool
import HookDispatch

/// The operator console: which listener serves it, its samples, and how it is put in front of
/// that listener's responder.
extension Host {
    /// The listener the console is served on and its address; nil when it is off.
    static func consoleListener(_ c: HostConfig) -> (mode: ConsoleMode, address: SocketAddress)? {
        switch c.console {
        case .off: nil
        case .main: (.main, c.listen)
        case .admin: c.adminListen.map { (.admin, $0) }
        }
    }

    /// Starts the samples when the console is served; returns what puts it in front of a
    /// listener's endpoint (`.main` or `.admin`), the endpoint itself on the other listener.
    func startConsole(_ g: Ground, spool: Spool, metrics: Metrics, status: @escaping @Sendable () -> StatusReport,
                      into services: inout ServiceGroup) -> @Sendable (DeliveryEndpoint, ConsoleMode) -> any HTTPResponder {
        guard let (on, address) = Host.consoleListener(config) else {
            if config.console == .admin {
                logger.info("console off: it is served on HOOKHOST_ADMIN_LISTEN (unset), or on the main listener with HOOKHOST_CONSOLE=main")
            }
            return { endpoint, _ in endpoint }
        }
        let sampler = ConsoleSampler(metrics: metrics, spool: spool, clock: spool.clock)
        services.start("console samples", sampler)
        let control = ControlEndpoint(admin: SpoolAdmin(spool: spool, functions: g.table, pauses: g.pauses), status: status)
        let api = ConsoleAPI(control: control, sampler: sampler, metrics: metrics, host: config)
        let loopback = ConsoleAccess.isLoopback(address)
        let access = ConsoleAccess(token: config.adminToken, openReads: loopback && config.consoleTrustLoopback)
        logger.info("console", ["path": .string(ConsoleRoute.prefix + "/"), "listener": .string(on.rawValue),
                                "reads": .string(access.openReads ? "open (loopback)" : "token"),
                                "actions": .string(config.adminToken == nil ? "refused (no HOOKHOST_ADMIN_TOKEN)" : "token")])
        if !loopback && config.adminToken == nil {
            logger.warn("console on a listener that is not loopback without HOOKHOST_ADMIN_TOKEN: it serves its page but refuses every read and action",
                        ["listener": .string(address.description)])
        }
        let logger = self.logger, clock = spool.clock
        return { endpoint, listener in
            listener == on ? ConsoleEndpoint(inner: endpoint, api: api, access: access, logger: logger, clock: clock) : endpoint
        }
    }
}
