import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct HostConfigTests {
    @Test func flagsWinOverEnvironmentAndBothFormsWork() throws {
        let c = try HostConfig.load(environment: ["HOOKHOST_LISTEN": "127.0.0.1:1", "HOOKHOST_WORKERS": "3", "HOOKHOST_MAX_BODY": "10"],
                                    arguments: ["--listen", "127.0.0.1:2", "--max-body=20", "--secrets-file", "/x", "--gemini-api-key", "k"])
        #expect(c.listen == .inet(host: "127.0.0.1", port: 2))
        #expect(c.dispatch.workers == 3)
        #expect(c.http.limits.maxBodyBytes == 20)
        #expect(c.secretsFile == "/x")
        #expect(c.geminiAPIKey == "k")
    }

    @Test func errorsNameTheSetting() {
        do { _ = try HostConfig.load(environment: ["HOOKHOST_SECRETS": "nope"], arguments: []); Issue.record("accepted") } catch {
            #expect(error.setting == "HOOKHOST_SECRETS")
            #expect(error.message.contains("whsec_"))
        }
        do { _ = try HostConfig.load(environment: [:], arguments: ["--secrets", "whsec_!!!"]); Issue.record("accepted") } catch {
            #expect(error.setting == "--secrets (HOOKHOST_SECRETS)")
        }
        do { _ = try HostConfig.load(environment: [:], arguments: ["--workers", "0"]); Issue.record("accepted") } catch {
            #expect(error.setting.contains("--workers"))
        }
        do { _ = try HostConfig.load(environment: [:], arguments: ["--bogus", "1"]); Issue.record("accepted") } catch {
            #expect(error.setting == "--bogus")
        }
        do { _ = try HostConfig.load(environment: [:], arguments: ["--listen"]); Issue.record("accepted") } catch {
            #expect(error.message.contains("value"))
        }
    }

    @Test(arguments: ["HOOKHOST_DATA", "HOOKHOST_FUNCTIONS", "HOOKHOST_SECRETS_FILE", "HOOKHOST_JWKS_FILE", "HOOKHOST_GCS_TOKEN_FILE"])
    func anEmptyPathSettingIsRefused(_ name: String) {
        do { _ = try HostConfig.load(environment: [name: ""], arguments: []); Issue.record("\(name)= accepted") } catch {
            #expect(error.setting == name)
        }
        let flag = HostConfig.flag(for: name)
        do { _ = try HostConfig.load(environment: [:], arguments: [flag, ""]); Issue.record("\(flag) \"\" accepted") } catch {
            #expect(error.setting == "\(flag) (\(name))")
        }
        do { _ = try HostConfig.load(environment: [:], arguments: [flag + "="]); Issue.record("\(flag)= accepted") } catch {
            #expect(error.setting.contains(name))
        }
        // A value read from a file with its newline: `/data\n` was created as a directory of its own.
        for v in ["/tmp/x\n", "/tmp/x\r\n", "/tmp/\tx"] {
            do { _ = try HostConfig.load(environment: [name: v], arguments: []); Issue.record("\(name)=\(v.debugDescription) accepted") } catch {
                #expect(error.setting == name && error.message.contains("line break"))
            }
        }
    }

    // A line break (a value read from a file), a tab or raw UTF-8 gave a path no request has.
    @Test(arguments: ["/healthz", "/readyz", "/metrics", "/webhooks?x=1", "/hooks#a", "webhooks", "/a b", "/webhooks\n", "/web\thooks", "/hoöks", "/x\u{7F}"])
    func aDeliveryPathThatCanNeverMatchIsRefused(_ path: String) {
        do { _ = try HostConfig.load(environment: ["HOOKHOST_PATH": path], arguments: []); Issue.record("\(path) accepted") } catch {
            #expect(error.setting == "HOOKHOST_PATH")
        }
    }

    @Test func ordinaryDeliveryPathsAreKept() throws {
        #expect(try HostConfig.load(environment: [:], arguments: ["--path", "/gemini/hooks"]).path == "/gemini/hooks")
        #expect(try HostConfig.load(environment: [:], arguments: ["--path", "/healthz/x"]).path == "/healthz/x")
    }

    @Test func secretFlagValuesAreLocatedInBothForms() {
        let args = ["--listen", "127.0.0.1:0", "--secrets", "whsec_a", "--gemini-api-key=AIza", "--data", "--secrets", "--path=/x"]
        #expect(HostConfig.secretArguments(in: args) == [
            HostConfig.SecretArgument(index: 3, offset: 0, flag: "--secrets"),
            HostConfig.SecretArgument(index: 4, offset: "--gemini-api-key=".utf8.count, flag: "--gemini-api-key"),
        ])  // `--data --secrets`: "--secrets" is the data directory there, not a flag
        #expect(HostConfig.secretArguments(in: ["--secrets-file", "/s", "--secrets"]).isEmpty)
        let c = try? HostConfig.load(environment: [:], arguments: ["--gemini-api-key=k", "--secrets-file", "/s"])
        #expect(c?.secretFlagsUsed == ["--gemini-api-key"])
    }

    @Test func addresses() {
        #expect(SocketAddress(parsing: "[::1]:8080") == .inet6(host: "::1", port: 8080))
        #expect(SocketAddress(parsing: ":9") == .inet(host: "0.0.0.0", port: 9))
        #expect(SocketAddress(parsing: "unix:/tmp/s") == .unix(path: "/tmp/s"))
        #expect(SocketAddress(parsing: "1.2.3:80") == nil)
        #expect(SocketAddress(parsing: "127.0.0.1:99999") == nil)
        #expect(HostConfig.flag(for: "HOOKHOST_SECRETS_FILE") == "--secrets-file")
        #expect(HostConfig.flag(for: "GEMINI_API_KEY") == "--gemini-api-key")
    }

    @Test(arguments: ["1e999", "1e17", "-5", "ten", "0", "inf", "nan", "0x10", "", "  "])
    func absurdNumbersAreRefusedNamingTheSetting(_ value: String) {
        for name in HostConfig.ranges.keys.sorted() {
            // 0 is in range where zero is documented as meaning something (retention, grace…).
            if value == "0" && HostConfig.ranges[name]!.contains(0) { continue }
            do {
                _ = try HostConfig.load(environment: [name: value], arguments: [])
                Issue.record("\(name)=\(value) accepted")
            } catch {
                #expect(error.setting == name)
                #expect(error.message.contains("expected"))
            }
        }
    }

    @Test func everyNumericSettingHasARange() {
        let numeric = ["HOOKHOST_JWKS_MIN_REFRESH", "HOOKHOST_TOLERANCE", "HOOKHOST_WORKERS", "HOOKHOST_MAX_ATTEMPTS",
                       "HOOKHOST_FUNCTION_TIMEOUT", "HOOKHOST_MAX_BODY", "HOOKHOST_READ_TIMEOUT", "HOOKHOST_IDLE_TIMEOUT",
                       "HOOKHOST_RETRY_BASE", "HOOKHOST_RETRY_CAP", "HOOKHOST_DEDUP_TTL", "HOOKHOST_RETENTION",
                       "HOOKHOST_QUEUE_MAX", "HOOKHOST_SHUTDOWN_GRACE", "HOOKHOST_RETRY_LATER_FOR", "HOOKHOST_KEEP_RESULTS", "HOOKHOST_HTTP_THREADS", "HOOKHOST_FETCHERS",
                       "HOOKHOST_JWT_MAX_LIFETIME", "HOOKHOST_LOG_BUFFER", "HOOKHOST_MAX_EMIT", "HOOKHOST_MAX_DEPTH", "HOOKHOST_RECONCILE_EVERY"]
        #expect(Set(numeric) == Set(HostConfig.ranges.keys))
        #expect(numeric.allSatisfy { HostConfig.settingNames.contains($0) })
    }

    @Test func reconcileSettings() throws {
        #expect(try HostConfig.load(environment: [:], arguments: []).reconcileEvery == 0)
        #expect(try HostConfig.load(environment: ["HOOKHOST_RECONCILE_EVERY": "300"], arguments: []).reconcileEvery == 300)
        #expect(try HostConfig.load(environment: ["HOOKHOST_RECONCILE_EVERY": "0"], arguments: []).reconcileEvery == 0)
        #expect(throws: ConfigError.self) { try HostConfig.load(environment: ["HOOKHOST_RECONCILE_EVERY": "5"], arguments: []) }
        #expect(try HostConfig.load(environment: ["HOOKHOST_RECONCILE_WINDOW": "2d"], arguments: []).reconcileWindow == 172_800)
        for bad in ["1e999", "0", "", "366d", "48x"] {
            #expect(throws: ConfigError.self, "\(bad)") { try HostConfig.load(environment: ["HOOKHOST_RECONCILE_WINDOW": bad], arguments: []) }
        }
    }

    @Test func rangeEdges() throws {
        #expect(try HostConfig.load(environment: ["HOOKHOST_FUNCTION_TIMEOUT": "86400"], arguments: []).dispatch.functionTimeout == 86_400)
        #expect(throws: ConfigError.self) { try HostConfig.load(environment: ["HOOKHOST_FUNCTION_TIMEOUT": "86400.5"], arguments: []) }
        #expect(try HostConfig.load(environment: [:], arguments: ["--retention", "0"]).spool.retention == 0)
        #expect(try HostConfig.load(environment: [:], arguments: ["--workers", " 4 "]).dispatch.workers == 4)
        #expect(throws: ConfigError.self) { try HostConfig.load(environment: [:], arguments: ["--workers", "4.0"]) }
        #expect(throws: ConfigError.self) { try HostConfig.load(environment: [:], arguments: ["--max-body", "\(64 << 20)"]) }
    }

    @Test func theJWTClaimsPolicyComesFromTheSettings() throws {
        let c = try HostConfig.load(environment: [
            "HOOKHOST_AUDIENCE": "a", "HOOKHOST_JWT_ISSUER": "https://i", "HOOKHOST_JWT_MAX_LIFETIME": "600",
            "HOOKHOST_JWT_REQUIRE_EXPIRY": "false", "HOOKHOST_JWT_TYPES": "JWT, at+jwt", "HOOKHOST_TOLERANCE": "120",
            "HOOKHOST_DEDUP_TTL": "1000",
        ], arguments: [])
        let p = c.jwtClaimsPolicy
        #expect(p.audience == "a" && p.issuer == "https://i" && p.maxLifetime == 600 && !p.requireExpiry)
        #expect(p.acceptedTypes == ["JWT", "at+jwt"] && p.issuedWithin == 120 && p.untimedMemory == 1000)
        let d = HostConfig().jwtClaimsPolicy
        #expect(d.requireExpiry && d.maxLifetime == 3600 && d.acceptedTypes == ["JWT"] && d.issuer == nil)
        #expect(!HostConfig().jwtAllowReuse)
    }

    @Test func jwtRelaxingSettingsTakeOnlyClearBooleans() throws {
        #expect(try HostConfig.load(environment: ["HOOKHOST_JWT_ALLOW_REUSE": "true"], arguments: []).jwtAllowReuse)
        #expect(try HostConfig.load(environment: [:], arguments: ["--jwt-allow-reuse", "YES"]).jwtAllowReuse)
        #expect(try HostConfig.load(environment: [:], arguments: ["--jwt-require-expiry=0"]).jwtClaims.requireExpiry == false)
        #expect(try HostConfig.load(environment: ["HOOKHOST_JWT_TYPES": "*"], arguments: []).jwtClaims.acceptedTypes == [])
        for (name, value) in [("HOOKHOST_JWT_ALLOW_REUSE", "ture"), ("HOOKHOST_JWT_REQUIRE_EXPIRY", ""),
                              ("HOOKHOST_JWT_MAX_LIFETIME", "0"), ("HOOKHOST_JWT_MAX_LIFETIME", "1e999"),
                              ("HOOKHOST_JWT_ISSUER", ""), ("HOOKHOST_JWT_TYPES", " , ")] {
            #expect(throws: ConfigError.self, "\(name)=\(value)") { try HostConfig.load(environment: [name: value], arguments: []) }
        }
    }
}

@Suite struct SettingsTableTests {
    @Test func defaultsComeFromTheComponentsThatOwnThem() {
        let docs = HostConfig.documentation
        #expect(docs["HOOKHOST_DEDUP_TTL"]?.defaultText == SettingRange.format(SpoolConfig(directory: "").dedupTTL))
        #expect(docs["HOOKHOST_READ_TIMEOUT"]?.defaultText == SettingRange.format(HTTPServerConfig().readTimeout))
        #expect(docs["HOOKHOST_MAX_BODY"]?.defaultText == String(HTTPLimits().maxBodyBytes))
        #expect(docs["HOOKHOST_FETCHERS"]?.defaultText == String(FetchStageConfig(resultsRoot: "").fetchers))
        #expect(docs["HOOKHOST_MAX_ATTEMPTS"]?.defaultText == String(RetryPolicy().maxAttempts))
    }

    @Test func everyNumericDefaultLiesInItsRange() {
        let defaults = HostConfig()
        for s in HostConfig.table.settings {
            guard let r = s.range, let d = Double(s.defaultText(defaults)) else { continue }
            #expect(r.contains(d), "\(s.name) default \(d) is outside its range")
        }
    }

    @Test func eachSettingIsDeclaredOnceWithAUniqueFlag() {
        let names = HostConfig.settingNames
        #expect(Set(names).count == names.count)
        #expect(Set(HostConfig.table.settings.map(\.flag)).count == names.count)
        #expect(HostConfig.secretSettings == ["HOOKHOST_SECRETS", "GEMINI_API_KEY", "HOOKHOST_ADMIN_TOKEN", "HOOKHOST_PEER_SECRET"])
    }
}

extension HostConfigTests {
    /// A dedup TTL shorter than a delivery stays verifiable let a captured delivery run twice: sent
    /// again under its id once the id was forgotten, it was no duplicate (a JWT is bound to its id
    /// for its lifetime, so the same id passes). Said at start; the defaults are safe.
    @Test func aDedupTTLShorterThanTheReplayWindowIsWarnedAbout() throws {
        #expect(try HostConfig.load(environment: [:], arguments: []).dedupShorterThanReplayWarning == nil)
        let short = try HostConfig.load(environment: [:], arguments: ["--dedup-ttl", "600"])
        let w = try #require(short.dedupShorterThanReplayWarning)
        #expect(w.contains("HOOKHOST_DEDUP_TTL (600 s)") && w.contains("HOOKHOST_JWT_MAX_LIFETIME 3600 s") && w.contains("at least 3720"))
        let both = try HostConfig.load(environment: [:], arguments: ["--dedup-ttl", "600", "--jwt-max-lifetime", "300"])
        #expect(both.dedupShorterThanReplayWarning == nil)
        let hmac = try HostConfig.load(environment: [:], arguments: ["--dedup-ttl", "600", "--jwt-max-lifetime", "300", "--tolerance", "900"])
        #expect(hmac.dedupShorterThanReplayWarning?.contains("HOOKHOST_TOLERANCE 900 s") == true)
    }
}

extension HostConfigTests {
    /// `HOOKHOST_AUDIENCE="$(cat aud)"` keeps no newline, but a value mounted from a file or a
    /// config map often does: every JWT then failed "aud does not match", with nothing visible.
    @Test(arguments: ["HOOKHOST_AUDIENCE", "HOOKHOST_JWT_ISSUER"])
    func aClaimValueWithSpaceAroundItIsRefusedNamingIt(_ name: String) throws {
        for v in ["https://example.com/hook\n", " https://example.com/hook", "x\t"] {
            do {
                _ = try HostConfig.load(environment: [name: v], arguments: [])
                Issue.record("\(name)=\(v.debugDescription) accepted")
            } catch {
                #expect(error.setting == name && error.message.contains("line break"))
            }
        }
        let ok = try HostConfig.load(environment: [name: "https://example.com/a b"], arguments: [])
        #expect((name == "HOOKHOST_AUDIENCE" ? ok.audience : ok.jwtClaims.issuer) == "https://example.com/a b")
    }
}

extension HostConfigTests {
    /// `HOOKHOST_LISTEN=$'unix:/run/hook.sock\n'` bound a socket whose name ends in a newline.
    @Test(arguments: ["HOOKHOST_LISTEN", "HOOKHOST_ADMIN_LISTEN"])
    func anAddressWithALineBreakIsRefused(_ name: String) {
        for v in ["unix:/tmp/h.sock\n", "127.0.0.1:8080\r\n"] {
            do { _ = try HostConfig.load(environment: [name: v], arguments: []); Issue.record("\(name)=\(v.debugDescription) accepted") } catch {
                #expect(error.setting == name && error.message.contains("line break"))
            }
        }
    }
}
