import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch
/// The host's keys and certificates: the TLS pair and the JWKS cache.
extension Host {
    /// The listener's certificate when `HOOKHOST_TLS_CERT` and `HOOKHOST_TLS_KEY` are set (one
    /// without the other, or a pair that does not load, is a configuration error).
    func loadTLS() throws(ConfigError) -> TLSCertificates? {
        switch (config.tlsCert, config.tlsKey) {
        case (nil, nil): return nil
        case (let cert?, let key?):
            do { return try TLSCertificates(certificate: FileSystem.absolute(cert), key: FileSystem.absolute(key)) } catch {
                throw ConfigError(setting: "HOOKHOST_TLS_CERT/HOOKHOST_TLS_KEY (--tls-cert/--tls-key)", message: "cannot load \(cert) / \(key): \(error)")
            }
        default:
            throw ConfigError(setting: "HOOKHOST_TLS_CERT/HOOKHOST_TLS_KEY (--tls-cert/--tls-key)", message: "set both the certificate and the key, or neither")
        }
    }

    /// SIGHUP: new connections get the re-read certificate; a broken pair keeps the previous one.
    func reloadTLS(_ tls: TLSCertificates?) {
        guard let tls else { return }
        do {
            try tls.reload()
            logger.info("TLS certificate reloaded", ["cert": .string(tls.certificatePath)])
        } catch {
            logger.error("TLS certificate reload failed; keeping the previous one", ["cert": .string(tls.certificatePath), "error": .string(error.message)])
        }
    }

    /// A `HOOKHOST_JWKS_FILE` that cannot be read or is no JWKS, as the configuration error the
    /// cache's first load would give (checked at start, before the spool is opened).
    func checkJWKSFile() throws(ConfigError) {
        guard let file = config.jwksFile else { return }
        let setting = "HOOKHOST_JWKS_FILE (--jwks-file)"
        let doc: JWKSDocument
        do { doc = try FileJWKSSource(path: FileSystem.absolute(file)).fetch() } catch { throw ConfigError(setting: setting, message: error.message) }
        do { _ = try JWKSet.parse(doc.bytes) } catch { throw ConfigError(setting: setting, message: error.message) }
    }

    /// The JWKS cache for JWT deliveries, its refresher started. A JWKS file is read now (a bad
    /// one is a configuration error); the URL is fetched on the first JWT delivery, so a host
    /// that only gets HMAC deliveries never calls it.
    func startJWKS(metrics: Metrics) throws(ConfigError) -> JWKSCache {
        let source: any JWKSSource = config.jwksFile.map { FileJWKSSource(path: FileSystem.absolute($0)) } ?? HTTPJWKSSource(url: config.jwksURL)
        let jwks = JWKSCache(source: source, config: config.jwks, logger: logger, metrics: metrics)
        if config.jwksFile != nil {
            do { try jwks.loadNow() } catch { throw ConfigError(setting: "HOOKHOST_JWKS_FILE (--jwks-file)", message: error.message) }
        }
        jwks.start()
        return jwks
    }

    /// JWT checks that are off, said once at start: without an audience any token Gemini signs
    /// (for anyone's dynamic webhook) verifies here, and each relaxing setting has its risk.
    func warnAboutJWTChecks() {
        if config.audience == nil {
            logger.warn("HOOKHOST_AUDIENCE is not set: a JWT Gemini signed for any other webhook verifies here too; set it to the aud your dynamic webhooks carry")
        }
        var relaxed: [String] = []
        if !config.jwtClaims.requireExpiry { relaxed.append("HOOKHOST_JWT_REQUIRE_EXPIRY=false (a token without exp or iat verifies for ever)") }
        if config.jwtAllowReuse { relaxed.append("HOOKHOST_JWT_ALLOW_REUSE=true (a token verifies with any number of webhook-ids)") }
        if config.jwtClaims.acceptedTypes.isEmpty { relaxed.append("HOOKHOST_JWT_TYPES=* (any typ)") }
        if !relaxed.isEmpty { logger.warn("JWT checks relaxed", ["settings": .string(relaxed.joined(separator: "; "))]) }
        if let w = config.dedupShorterThanReplayWarning { logger.warn(w) }
    }

    /// `hookhost_jwks_keys`, `hookhost_jwks_failing` (1 while fetches fail and the last good keys
    /// are used) and `hookhost_jwks_age_seconds` (-1: never fetched).
    static func jwksGauges(_ s: JWKSStatus) -> [(String, Double)] {
        [("hookhost_jwks_keys", Double(s.keys)), ("hookhost_jwks_failing", s.failing ? 1 : 0), ("hookhost_jwks_age_seconds", s.age.map { $0.rounded() } ?? -1)]
    }
}
