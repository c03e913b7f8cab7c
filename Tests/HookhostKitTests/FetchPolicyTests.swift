import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FetchPolicyTests {
    func url(_ s: String) -> FetchURL { FetchURL(s)! }

    @Test func allowsTheAPIAndGCSOriginsAndListedHosts() throws {
        let p = try FetchPolicy(apiBase: "https://api.test", gcsBase: "https://gcs.test",
                                fetchHosts: ["CDN.Test", "files.test:8443", "[::1]:9"])
        #expect(p.allows(url("https://api.test/x")))
        #expect(p.allows(url("https://API.TEST:443/x")))
        #expect(!p.allows(url("https://api.test:8443/x")))  // another port is another origin
        #expect(!p.allows(url("http://api.test/x")))        // and so is another scheme
        #expect(p.allows(url("https://gcs.test/x")))
        #expect(p.allows(url("https://cdn.test/x")))         // host only: any port
        #expect(p.allows(url("http://cdn.test:81/x")))
        #expect(p.allows(url("https://files.test:8443/x")))  // host:port: only that port
        #expect(!p.allows(url("https://files.test/x")))
        #expect(p.allows(url("http://[::1]:9/x")))
        #expect(!p.allows(url("https://api.test.evil/x")))  // no suffix or prefix matching
        #expect(!p.allows(url("https://evilapi.test/x")))
        #expect(!p.allows(url("https://sub.cdn.test/x")))
        #expect(!p.allows(url("http://127.0.0.1/x")))
    }

    @Test(arguments: ["", "http://h", "h/x", "u@h", "h:", "h:0", "h:70000", "h:x"])
    func badFetchHostsNameTheSetting(_ entry: String) {
        #expect(throws: ConfigError.self) { try FetchPolicy(apiBase: "https://a", gcsBase: "https://g", fetchHosts: [entry]) }
        if entry.isEmpty { return }
        do { _ = try FetchPolicy(apiBase: "https://a", gcsBase: "https://g", fetchHosts: [entry]) } catch {
            #expect(error.setting == "fetchHosts")
        }
        // The app's settings table names the variable.
        #expect(throws: ConfigError.self) { try HostConfig.load(environment: ["HOOKHOST_FETCH_HOSTS": "ok.test,\(entry)"], arguments: []) }
        if entry.isEmpty { return }
        do { _ = try HostConfig.load(environment: ["HOOKHOST_FETCH_HOSTS": "ok.test,\(entry)"], arguments: []) } catch {
            #expect(error.setting == "HOOKHOST_FETCH_HOSTS")
        }
    }

    @Test func badBasesNameTheSetting() {
        #expect(throws: ConfigError(setting: "apiBase", message: "expected an http(s) URL without query, got \"ftp://x\"")) {
            try FetchPolicy(apiBase: "ftp://x", gcsBase: "https://g", fetchHosts: [])
        }
        #expect(throws: ConfigError(setting: "HOOKHOST_API_BASE", message: "expected an http(s) URL without query, got \"ftp://x\"")) {
            try HostConfig.load(environment: ["HOOKHOST_API_BASE": "ftp://x"], arguments: [])
        }
        #expect(throws: ConfigError(setting: "HOOKHOST_GCS_BASE", message: "expected an http(s) URL without query, got \"https://g\"")) {
            try HostConfig.load(environment: ["HOOKHOST_GCS_BASE": "https://g?x"], arguments: [])
        }
        #expect((try? FetchPolicy(apiBase: "https://a", gcsBase: "https://g?x", fetchHosts: [])) == nil)
    }

    @Test func credentialsGoOnlyToTheirOwnOriginAndNeverAcrossARedirect() throws {
        let p = try FetchPolicy(apiBase: "https://api.test", gcsBase: "https://gcs.test", fetchHosts: ["cdn.test"])
        let file = try p.request(for: "files/a")
        #expect(p.credential(for: file, hop: file.url) == .apiKey)
        #expect(p.credential(for: file, hop: url("https://api.test/elsewhere")) == .apiKey)  // same origin redirect
        #expect(p.credential(for: file, hop: url("https://cdn.test/a")) == .none)
        #expect(p.credential(for: file, hop: url("https://gcs.test/a")) == .none)             // not even to GCS
        #expect(p.credential(for: file, hop: url("http://api.test/a")) == .none)              // downgraded scheme

        let gcs = try p.request(for: "gs://b/o")
        #expect(p.credential(for: gcs, hop: gcs.url) == .gcsToken)
        #expect(p.credential(for: gcs, hop: url("https://api.test/x")) == .none)

        let cdn = try p.request(for: "https://cdn.test/video.mp4")
        #expect(cdn.credential == .none)
        #expect(p.credential(for: cdn, hop: url("https://api.test/x")) == .none)  // a listed host redirecting to the API
    }

    @Test func classifiesStatuses() {
        let u = url("https://api.test/download/v1beta/files/a:download?alt=media&sig=secret")
        func c(_ s: Int, _ ra: String? = nil, _ cred: Credential = .apiKey, configured: Bool = true) -> FetchError {
            FetchPolicy.classify(status: s, retryAfter: ra, url: u, credential: cred, credentialConfigured: configured, now: 1000)
        }
        #expect(c(404) == .notFound(status: 404, url: "https://api.test/download/v1beta/files/a:download"))
        #expect(c(404).reason.hasPrefix("HTTP 404: file not found or expired (files are kept 48 h)"))
        #expect(!c(404).reason.contains("secret"))
        #expect(c(410).isFinal && c(410).reason.hasPrefix("HTTP 410: file not found or expired"))
        #expect(c(401).reason.hasPrefix("API key rejected (401/403)"))
        #expect(c(403).isFinal)
        #expect(c(403, nil, .apiKey, configured: false).reason.contains("GEMINI_API_KEY"))
        #expect(c(403, nil, .gcsToken).reason.contains("HOOKHOST_GCS_TOKEN_FILE"))
        #expect(c(403, nil, .none).reason.contains("no credential"))
        #expect(c(429, "30") == .rateLimited(retryAfter: 30))
        #expect(!c(429).isFinal && c(429).retryAfter == nil)
        #expect(c(500) == .serverError(status: 500, retryAfter: nil))
        #expect(c(503, "5").retryAfter == 5)
        #expect(!c(502).isFinal && !c(408).isFinal)
        #expect(c(400) == .rejected(status: 400, url: "https://api.test/download/v1beta/files/a:download"))
        #expect(c(400).isFinal && c(416).isFinal)
        #expect(FetchPolicy.isRedirect(302) && FetchPolicy.isRedirect(308) && !FetchPolicy.isRedirect(304))
    }

    @Test func finalityOfEveryError() {
        let transient: [FetchError] = [.rateLimited(retryAfter: nil), .serverError(status: 500, retryAfter: nil), .network("x"),
                                       .insufficientSpace(needed: 1, available: 0), .diskFull("x"), .local("x")]
        let final: [FetchError] = [.invalidReference("x", why: "y"), .hostNotAllowed(host: "h", viaRedirect: true),
                                   .badRedirect(location: "x"), .tooManyRedirects(limit: 5), .notFound(status: 410, url: "u"),
                                   .accessDenied(status: 401, url: "u", credential: .apiKey, configured: true),
                                   .rejected(status: 400, url: "u"), .tooLarge(limit: 1), .missingCredential(setting: "S")]
        #expect(transient.allSatisfy { !$0.isFinal })
        #expect(final.allSatisfy { $0.isFinal })
        // Only a full disk is the host's shortage (no attempt spent); the rest are the delivery's.
        #expect((transient + final).filter(\.isHostShortage) == [.insufficientSpace(needed: 1, available: 0), .diskFull("x")])
    }

    @Test func aFullDiskWhileSavingIsAShortageOtherIOErrorsAreNot() {
        #expect(FetchError.io("cannot write /r/.f.part", errno: ENOSPC) == .diskFull("cannot write /r/.f.part: No space left on device"))
        #expect(FetchError.io("cannot write /r/.f.part", errno: EDQUOT).isHostShortage)
        #expect(FetchError.io("cannot write /r/.f.part", errno: EIO) == .local("cannot write /r/.f.part: Input/output error"))
    }

    @Test func reasonsNeverCarryAURLsQuery() {
        let signed = "https://storage.test/b/o.mp4?X-Goog-Signature=secret&X-Goog-Credential=secret"
        let errors: [FetchError] = [
            .invalidReference("https://storage.test/b/o .mp4?X-Goog-Signature=secret", why: "not a well-formed http(s) URL"),
            .badRedirect(location: "ftp://storage.test/o?sig=secret"),
            .notFound(status: 404, url: signed), .rejected(status: 400, url: signed),
            .accessDenied(status: 403, url: signed, credential: .none, configured: false),
            .accessDenied(status: 403, url: signed, credential: .apiKey, configured: true),
        ]
        for e in errors {
            #expect(!e.reason.contains("secret") && !e.reason.contains("?"), "\(e.reason)")
            #expect(e.reason.contains("storage.test/"), "\(e.reason)")
        }
    }

    @Test func retryAfterSecondsOrDate() {
        #expect(FetchPolicy.retryAfterSeconds("120", now: 0) == 120)
        #expect(FetchPolicy.retryAfterSeconds(" 7 ", now: 0) == 7)
        // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT
        #expect(FetchPolicy.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_777 - 90) == 90)
        #expect(FetchPolicy.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_777 + 90) == 0)
        #expect(FetchPolicy.retryAfterSeconds("soon", now: 0) == nil)
        #expect(FetchPolicy.retryAfterSeconds("-5", now: 0) == nil)
        #expect(FetchPolicy.retryAfterSeconds("Sun, 06 Foo 1994 08:49:37 GMT", now: 0) == nil)
    }
}
