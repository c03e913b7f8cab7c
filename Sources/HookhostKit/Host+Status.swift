import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// What the host says about itself: the start-up lines naming its functions and sources, and
/// `hookhost status` (GET /status on the control socket).
extension Host {
    /// The running parts a status report reads, each asked at the time of the request.
    struct StatusParts: Sendable {
        let spool: Spool
        let table: FunctionTable
        let secrets: SecretsStore
        let jwks: JWKSCache
        let endpoint: DeliveryEndpoint
        let startedAt: Double
        let listen: String
        let dataDir: String
    }

    /// The report for `GET /status`: readiness as `/readyz` decides it, and the rest.
    func statusReport(_ p: StatusParts) -> StatusReport {
        var r = StatusReport()
        r.at = p.spool.clock.now()
        r.running = true
        r.problems = p.endpoint.readinessProblems()
        r.version = BuildInfo.version
        r.pid = Int(getpid())
        r.startedAt = p.startedAt
        r.listen = p.listen
        r.data = p.dataDir
        r.secrets = p.secrets.fingerprints
        r.secretExpiry = p.secrets.expiries
        r.addJWKS(p.jwks.status)
        r.fetch = StatusReport.FetchSources(apiBase: HostConfig.showBase(config.apiBase), gcsBase: HostConfig.showBase(config.gcsBase),
                                            extraHosts: config.fetchHosts.map(\.description))
        r.addSpool(p.spool, now: r.at)
        r.addFunctions(p.table)
        return r
    }

    /// `functions`: every function and the executable it runs (symlinks resolved), so the log of
    /// a start says what this host will run.
    func logFunctions(_ table: FunctionTable) {
        let all = table.all()
        let list = all.map { "\($0.name)=\(StatusReport.resolved($0.path))" }.joined(separator: ",")
        logger.info("functions", ["directory": .string(table.directory), "count": .int(all.count), "functions": .string(list)])
    }

    /// `verification sources`: the HMAC secrets by fingerprint and where the JWKS comes from.
    func logVerificationSources(secrets: SecretsStore, jwks: JWKSCache) {
        logger.info("verification sources", ["hmac_secrets": .int(secrets.count), "fingerprints": .string(secrets.shownFingerprints.joined(separator: ",")),
                                             "secrets_file": .string(config.secretsFile ?? ""),
                                             "jwks": .string(jwks.source.location), "jwks_from": .string(config.jwksFile == nil ? "url" : "file")])
    }

    /// `result downloads`: where results are fetched from (no query: none is allowed in these).
    func logFetchSources() {
        logger.info("result downloads", ["api_base": .string(HostConfig.showBase(config.apiBase)), "gcs_base": .string(HostConfig.showBase(config.gcsBase)),
                                         "extra_hosts": .string(config.fetchHosts.map(\.description).joined(separator: ",")),
                                         "fetchers": .int(config.fetch.fetchers)])
    }
}
