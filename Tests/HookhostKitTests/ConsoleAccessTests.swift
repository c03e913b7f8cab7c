import Testing
@testable import HookhostKit
@testable import HookHTTP
@testable import HookNet

@Suite struct ConsoleAccessTests {
    static let token = "0123456789abcdef-token"

    static func request(_ method: String, _ headers: [(String, String)] = []) -> HTTPRequest {
        HTTPRequest(method: method, target: "/console/api/x", headers: headers.map { (name: $0.0.lowercased(), value: $0.1) })
    }
    static let bearer = ("Authorization", "Bearer \(token)")
    static let json = ("Content-Type", "application/json")

    @Test func loopbackReadsAreOpenUnlessTrustIsTurnedOff() {
        let open = ConsoleAccess(token: nil, openReads: true)
        #expect(open.checkRead(Self.request("GET")) == .allowed)
        let closed = ConsoleAccess(token: Self.token, openReads: false)
        guard case .refused(401, _, false) = closed.checkRead(Self.request("GET")) else { Issue.record("read without token allowed"); return }
        #expect(closed.checkRead(Self.request("GET", [Self.bearer])) == .allowed)
    }

    @Test func aRemoteReadWithoutAConfiguredTokenSaysToSetIt() {
        guard case .refused(401, let m, false) = ConsoleAccess(token: nil, openReads: false).checkRead(Self.request("GET", [Self.bearer])) else {
            Issue.record("allowed"); return
        }
        #expect(m.contains("HOOKHOST_ADMIN_TOKEN"))
    }

    @Test(arguments: ["Bearer wrong-token-of-any-length", "Bearer \(token)x", "Basic abc", "bearer", "Bearer "])
    func aWrongTokenIsRefusedAndMarkedForTheLogEvenOnLoopback(_ header: String) {
        let a = ConsoleAccess(token: Self.token, openReads: true)
        #expect(a.checkRead(Self.request("GET", [("Authorization", header)])) == .refused(status: 401, message: "wrong admin token", wrongToken: true))
        #expect(a.checkAction(Self.request("POST", [("Authorization", header), Self.json])) == .refused(status: 401, message: "wrong admin token", wrongToken: true))
    }

    @Test func theSchemeIsCaseInsensitiveAndTheTokenExact() {
        let a = ConsoleAccess(token: Self.token, openReads: false)
        #expect(a.checkRead(Self.request("GET", [("Authorization", "bearer \(Self.token)")])) == .allowed)
        #expect(a.checkRead(Self.request("GET", [("Authorization", "Bearer \(Self.token.uppercased())")])) != .allowed)
    }

    @Test func actionsAlwaysNeedTheTokenEvenOnLoopback() {
        let a = ConsoleAccess(token: Self.token, openReads: true)
        guard case .refused(401, _, false) = a.checkAction(Self.request("POST", [Self.json])) else { Issue.record("action without token"); return }
        #expect(a.checkAction(Self.request("POST", [Self.json, Self.bearer])) == .allowed)
        guard case .refused(401, let m, false) = ConsoleAccess(token: nil, openReads: true).checkAction(Self.request("POST", [Self.json])) else {
            Issue.record("action allowed without a configured token"); return
        }
        #expect(m.contains("HOOKHOST_ADMIN_TOKEN"))
    }

    @Test func actionsFromAnotherOriginOrWithoutJSONAreRefusedEvenWithTheToken() {
        let a = ConsoleAccess(token: Self.token, openReads: true)
        let host = ("Host", "127.0.0.1:9090")
        #expect(a.checkAction(Self.request("POST", [Self.json, Self.bearer, host, ("Origin", "http://127.0.0.1:9090")])) == .allowed)
        #expect(a.checkAction(Self.request("POST", [Self.json, Self.bearer, host, ("Origin", "https://127.0.0.1:9090")])) == .allowed)
        for origin in ["http://evil.example", "null", "http://127.0.0.1:9091"] {
            guard case .refused(403, _, false) = a.checkAction(Self.request("POST", [Self.json, Self.bearer, host, ("Origin", origin)])) else {
                Issue.record("origin \(origin) allowed"); continue
            }
        }
        guard case .refused(403, _, _) = a.checkAction(Self.request("POST", [Self.json, Self.bearer, ("Sec-Fetch-Site", "cross-site")])) else {
            Issue.record("cross-site allowed"); return
        }
        for type in [nil, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            let headers = [Self.bearer] + (type.map { [("Content-Type", $0)] } ?? [])
            guard case .refused(415, _, false) = a.checkAction(Self.request("POST", headers)) else { Issue.record("\(type ?? "none") allowed"); continue }
        }
        #expect(a.checkAction(Self.request("POST", [("Content-Type", "application/json; charset=utf-8"), Self.bearer])) == .allowed)
    }

    @Test func loopbackIsTheLoopbackNetworkAndUnixSockets() {
        #expect(ConsoleAccess.isLoopback(.inet(host: "127.0.0.1", port: 1)))
        #expect(ConsoleAccess.isLoopback(.inet(host: "127.1.2.3", port: 1)))
        #expect(ConsoleAccess.isLoopback(.inet6(host: "::1", port: 1)))
        #expect(ConsoleAccess.isLoopback(.unix(path: "/run/h.sock")))
        #expect(!ConsoleAccess.isLoopback(.inet(host: "0.0.0.0", port: 1)))
        #expect(!ConsoleAccess.isLoopback(.inet(host: "10.0.0.1", port: 1)))
        #expect(!ConsoleAccess.isLoopback(.inet6(host: "::", port: 1)))
    }
}

@Suite struct ConsoleAccessHostTests {
    @Test(arguments: ["127.0.0.1:9090", "127.0.0.1", "127.9.8.7:1", "localhost:9090", "LocalHost", "localhost.", "console.localhost:80",
                      "[::1]:9090", "[::1]", "[0:0:0:0:0:0:0:1]:1"])
    func aLoopbackNameKeepsReadsOpen(_ host: String) {
        #expect(ConsoleAccess.namesLoopback(host))
        let a = ConsoleAccess(token: ConsoleAccessTests.token, openReads: true)
        #expect(a.checkRead(ConsoleAccessTests.request("GET", [("Host", host)])) == .allowed)
    }

    /// A page elsewhere whose name resolves to 127.0.0.1 (DNS rebinding) sends its own name.
    @Test(arguments: ["evil.example", "evil.example:9090", "127.0.0.1.evil.example", "localhost.evil.example:1", "10.0.0.1:9090",
                      "127.0.0.256", "127.0.0", "0177.0.0.1", "[::2]:1", "[::1]x", "[::1", ".localhost", "localhost:http", ""])
    func anyOtherNameNeedsTheToken(_ host: String) {
        #expect(!ConsoleAccess.namesLoopback(host))
        let a = ConsoleAccess(token: ConsoleAccessTests.token, openReads: true)
        guard case .refused(401, let m, false) = a.checkRead(ConsoleAccessTests.request("GET", [("Host", host)])) else {
            Issue.record("read through \(host) allowed without the token"); return
        }
        #expect(m.contains("Authorization: Bearer"))
        #expect(a.checkRead(ConsoleAccessTests.request("GET", [("Host", host), ConsoleAccessTests.bearer])) == .allowed)
        guard case .refused(401, let unset, false) = ConsoleAccess(token: nil, openReads: true).checkRead(ConsoleAccessTests.request("GET", [("Host", host)])) else {
            Issue.record("read through \(host) allowed without a token set"); return
        }
        #expect(unset.contains("HOOKHOST_ADMIN_TOKEN"))
    }
}
