import Testing
@testable import HookhostKit

@Suite struct HostConfigTests {
    @Test func flagsWinOverEnvironmentAndBothFormsWork() throws {
        let c = try HostConfig.load(environment: ["HOOKHOST_LISTEN": "127.0.0.1:1", "HOOKHOST_WORKERS": "3", "HOOKHOST_MAX_BODY": "10"],
                                    arguments: ["--listen", "127.0.0.1:2", "--max-body=20", "--secrets-file", "/x", "--gemini-api-key", "k"])
        #expect(c.listen == .inet(host: "127.0.0.1", port: 2))
        #expect(c.workers == 3)
        #expect(c.maxBody == 20)
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

    @Test func addresses() {
        #expect(SocketAddress(parsing: "[::1]:8080") == .inet6(host: "::1", port: 8080))
        #expect(SocketAddress(parsing: ":9") == .inet(host: "0.0.0.0", port: 9))
        #expect(SocketAddress(parsing: "unix:/tmp/s") == .unix(path: "/tmp/s"))
        #expect(SocketAddress(parsing: "1.2.3:80") == nil)
        #expect(SocketAddress(parsing: "127.0.0.1:99999") == nil)
        #expect(HostConfig.flag(for: "HOOKHOST_SECRETS_FILE") == "--secrets-file")
        #expect(HostConfig.flag(for: "GEMINI_API_KEY") == "--gemini-api-key")
    }
}
