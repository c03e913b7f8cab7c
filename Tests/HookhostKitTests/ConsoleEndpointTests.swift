import Dispatch
import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookHTTP
@testable import HookSpool
@testable import HookDispatch

@Suite struct ConsoleEndpointTests {
    static let token = "console-test-token-0123"

    /// What the listener answers itself (probes, deliveries): the console must pass it by.
    final class Inner: HTTPResponder {
        let seen = Mutex<[String]>([])
        func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
            seen.withLock { $0.append(request.path) }
            respond(.text(200, "inner"))
        }
    }

    struct Fixture {
        let clock = ManualClock(1_800_000_000)
        let store: MemoryDeliveryStore
        let inner = Inner()
        let endpoint: ConsoleEndpoint
        let control: ControlEndpoint
        let logPath: String

        init(openReads: Bool = true, token: String? = ConsoleEndpointTests.token) {
            store = MemoryDeliveryStore(clock: clock)
            control = ControlEndpoint(admin: SpoolAdmin(spool: store, functions: FunctionTable(directory: "/nonexistent")))
            let metrics = Metrics()
            let api = ConsoleAPI(control: control, sampler: ConsoleSampler(metrics: metrics, spool: store, clock: clock), metrics: metrics, host: HostConfig())
            logPath = makeTempDir("console") + "/log"
            let logger = Logger(level: .info, clock: clock, fd: open(logPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600))
            endpoint = ConsoleEndpoint(inner: inner, api: api, access: ConsoleAccess(token: token, openReads: openReads), logger: logger, clock: clock)
        }

        func ask(_ method: String, _ target: String, _ headers: [(String, String)] = [], body: String = "") -> HTTPResponse {
            let got = Mutex<HTTPResponse?>(nil)
            let done = DispatchSemaphore(value: 0)
            endpoint.respond(to: HTTPRequest(method: method, target: target, headers: headers.map { (name: $0.0.lowercased(), value: $0.1) }, body: bytes(body))) { r in
                got.withLock { $0 = r }
                done.signal()
            }
            _ = done.wait(timeout: .now() + 10)
            return got.withLock { $0 } ?? HTTPResponse(status: 0)
        }

        func logLines() -> [String] {
            let text = (try? SmallFile.read(logPath, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return text.split(separator: "\n").map(String.init)
        }
    }

    static let action: [(String, String)] = [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")]

    static func header(_ r: HTTPResponse, _ name: String) -> String? { r.headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    static func json(_ r: HTTPResponse) -> JSON { (try? JSONParser.parse(r.body)) ?? .null }

    @Test func everyConsoleAnswerCarriesTheSecurityHeaders() {
        let f = Fixture(openReads: false)
        for (method, target) in [("GET", "/console"), ("GET", "/console/"), ("GET", "/console/console.js"), ("GET", "/console/nope"),
                                 ("POST", "/console/api/status"), ("GET", "/console/api/status"), ("POST", "/console/api/dead/replay")] {
            let r = f.ask(method, target)
            #expect(Self.header(r, "Content-Security-Policy") == ConsoleHeaders.contentSecurityPolicy, "\(method) \(target)")
            #expect(Self.header(r, "X-Content-Type-Options") == "nosniff")
            #expect(Self.header(r, "Referrer-Policy") == "no-referrer")
            #expect(ConsoleHeaders.contentSecurityPolicy.contains("frame-ancestors 'none'"))
        }
        #expect(f.inner.seen.withLock { $0 }.isEmpty)
    }

    @Test func otherPathsAreTheListenersOwn() {
        let f = Fixture()
        #expect(String(decoding: f.ask("GET", "/metrics").body, as: UTF8.self) == "inner")
        _ = f.ask("POST", "/consoles")
        #expect(f.inner.seen.withLock { $0 } == ["/metrics", "/consoles"])
    }

    @Test func theStatusAndADeliveryAreTheControlSocketsAnswers() {
        let f = Fixture()
        f.store.admit(id: "x1", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        #expect(f.ask("GET", "/console/api/status").body == f.control.answer(HTTPRequest(method: "GET", target: "/status")).body)
        #expect(f.ask("GET", "/console/api/deliveries/x1").body == f.control.answer(HTTPRequest(method: "GET", target: "/deliveries/x1")).body)
        #expect(f.ask("GET", "/console/api/deliveries/nope").status == 404)
    }

    @Test func pagesOfDeliveriesFollowTheirCursor() {
        let f = Fixture()
        for i in 0..<5 {
            f.clock.advance(1)
            f.store.admit(id: "p\(i)", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        }
        let first = Self.json(f.ask("GET", "/console/api/deliveries?limit=2&state=&type=ping"))
        #expect(first["matched"]?.intValue == 5)
        let next = first["next"]?.stringValue ?? ""
        let second = Self.json(f.ask("GET", "/console/api/deliveries?limit=2&before=\(next)"))
        guard case .array(let items)? = second["deliveries"] else { Issue.record("no list"); return }
        #expect(items.map { $0["id"]?.stringValue } == ["p2", "p1"])
        #expect(f.ask("GET", "/console/api/deliveries?before=junk").status == 400)
        #expect(f.ask("GET", "/console/api/deliveries?limit=0").status == 400)
        #expect(f.ask("GET", "/console/api/deliveries?stat=dead").status == 400)
    }

    @Test func theWholeOutputIsADownloadAndAnUnfinishedDeliveryIsNotPurged() {
        let f = Fixture()
        f.store.admit(id: "o1", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        #expect(f.ask("POST", "/console/api/deliveries/o1/purge", Self.action).status == 409)
        _ = f.store.start("o1")
        let output = #"{"big":"\#(String(repeating: "y", count: 100_000))"}"#
        f.store.finish(StateChange(id: "o1", state: .done, attempt: 1, at: f.clock.now(), function: "fn", exitCode: 0, durationMs: 3, output: bytes(output)))
        let r = f.ask("GET", "/console/api/deliveries/o1/output")
        #expect(r.status == 200 && r.body == bytes(output))
        #expect(Self.header(r, "Content-Disposition")?.contains("o1-output.json") == true)
        #expect(f.ask("POST", "/console/api/deliveries/o1/purge", Self.action).status == 200)
        #expect(f.store.info("o1") == nil)
    }

    @Test func aDeadLetterGroupIsReplayedTogether() {
        let f = Fixture()
        for id in ["g1", "g2", "h1"] {
            f.store.admit(id: id, type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
            _ = f.store.start(id)
            f.store.finish(StateChange(id: id, state: .dead, attempt: 1, at: f.clock.now(), error: id.hasPrefix("g") ? "boom" : "other", function: "fn"))
        }
        let groups = Self.json(f.ask("GET", "/console/api/dead"))
        #expect(groups["total"]?.intValue == 3)
        let r = f.ask("POST", "/console/api/dead/replay", Self.action, body: #"{"function":"fn","reason":"boom"}"#)
        #expect(Self.json(r)["replayed"]?.intValue == 2)
        #expect(f.store.info("h1")?.state == .dead && f.store.info("g1")?.state == .received)
        #expect(f.ask("POST", "/console/api/dead/replay", Self.action, body: "[]").status == 400)
    }

    @Test func wrongTokensAreLoggedWithoutTheirValueAtMostOncePer10Seconds() {
        let f = Fixture()
        let wrong = [("Authorization", "Bearer guess-guess-guess-1")]
        for _ in 0..<3 { #expect(f.ask("GET", "/console/api/status", wrong).status == 401) }
        f.clock.advance(11)
        #expect(f.ask("GET", "/console/api/status", wrong).status == 401)
        #expect(eventually { f.logLines().filter { $0.contains("wrong admin token") }.count == 2 })
        let lines = f.logLines().filter { $0.contains("wrong admin token") }
        #expect(lines.first?.contains(#""suppressed":0"#) == true && lines.last?.contains(#""suppressed":2"#) == true)
        #expect(!f.logLines().joined().contains("guess-guess"))
    }

    @Test func withoutTheTokenRemoteReadsAndAllActionsAre401() {
        let f = Fixture(openReads: false)
        #expect(f.ask("GET", "/console/api/deliveries").status == 401)
        #expect(Self.header(f.ask("GET", "/console/api/functions"), "WWW-Authenticate") != nil)
        #expect(f.ask("POST", "/console/api/functions/f/pause", [("Content-Type", "application/json")]).status == 401)
        #expect(f.ask("GET", "/console/").status == 200)  // the page itself holds no data
        #expect(f.ask("GET", "/console/api/deliveries", [("Authorization", "Bearer \(Self.token)")]).status == 200)
    }
}

@Suite struct ConsoleEndpointPollingTests {
    typealias T = ConsoleEndpointTests

    static func ids(_ r: HTTPResponse) -> [String] {
        guard case .array(let items)? = T.json(r)["deliveries"] else { return [] }
        return items.compactMap { $0["id"]?.stringValue }
    }

    /// Many consoles polling one view within half a second cost one scan of the spool (the scan
    /// holds the lock deliveries are admitted under); an action's effect shows at once.
    @Test func oneViewPolledManyTimesIsOneScanPerHalfSecondAndAnActionShowsAtOnce() {
        let f = T.Fixture()
        f.store.admit(id: "d1", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        #expect(Self.ids(f.ask("GET", "/console/api/deliveries")) == ["d1"])
        f.store.admit(id: "d2", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        for _ in 0..<5 { #expect(Self.ids(f.ask("GET", "/console/api/deliveries")) == ["d1"]) }
        #expect(ConsoleEndpointTests.header(f.ask("GET", "/console/api/deliveries"), "Content-Security-Policy") != nil)
        #expect(Self.ids(f.ask("GET", "/console/api/deliveries?limit=50")) == ["d2", "d1"])  // another view: its own scan
        f.clock.advance(0.5)
        #expect(Self.ids(f.ask("GET", "/console/api/deliveries")) == ["d2", "d1"])

        f.store.admit(id: "d3", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        #expect(f.ask("POST", "/console/api/dead/replay", T.action, body: #"{"function":null,"reason":"none"}"#).status == 200)
        #expect(Self.ids(f.ask("GET", "/console/api/deliveries")) == ["d3", "d2", "d1"])
    }
}

@Suite struct ConsoleEndpointActionBodyTests {
    typealias T = ConsoleEndpointTests

    /// A dead-letter group's replay names its group exactly: a function that is not a string or
    /// null, or a misspelt key, is refused, never read as "no function" (another group replayed).
    @Test(arguments: [#"{"function":5,"reason":"boom"}"#, #"{"function":["fn"],"reason":"boom"}"#, #"{"function":false,"reason":"boom"}"#,
                      #"{"fn":"fn","reason":"boom"}"#, #"{"reason":"x","reason":"boom"}"#, #"{"function":"fn","reason":"boom","ids":["h1"]}"#, #"{"function":null,"reason":7}"#])
    func aDeadGroupBodyThatNamesNoGroupExactlyIsRefused(_ body: String) {
        let f = T.Fixture()
        f.store.admit(id: "n1", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        _ = f.store.start("n1")
        f.store.finish(StateChange(id: "n1", state: .dead, attempt: 1, at: f.clock.now(), error: "boom"))
        let r = f.ask("POST", "/console/api/dead/replay", T.action, body: body)
        #expect(r.status == 400, "\(body): \(String(decoding: r.body, as: UTF8.self))")
        #expect(f.store.info("n1")?.state == .dead)
        #expect(f.ask("POST", "/console/api/dead/replay", T.action, body: #"{"function":null,"reason":"boom"}"#).status == 200)
        #expect(f.store.info("n1")?.state == .received)
    }
}

@Suite struct ConsoleEndpointQueryTests {
    typealias T = ConsoleEndpointTests

    /// Only the deliveries list and the replay or purge by filter take a query; anywhere else one
    /// is refused, not ignored (`dead?function=f` answered every group as if filtered).
    @Test func aQueryWhereNoneIsTakenIsRefusedNotIgnored() {
        let f = T.Fixture()
        f.store.admit(id: "q1", type: "ping", verifiedBy: .hmac, body: bytes(#"{"type":"ping"}"#)) { _ in }
        _ = f.store.start("q1")
        f.store.finish(StateChange(id: "q1", state: .dead, attempt: 1, at: f.clock.now(), error: "boom"))
        for target in ["/console/api/dead?function=f", "/console/api/functions?limit=1e999", "/console/api/status?x", "/console/api/samples?limit=-1",
                       "/console/api/deliveries/q1?attempt=1", "/console/api/deliveries/q1/output?a=1&a=2"] {
            let r = f.ask("GET", target)
            #expect(r.status == 400, "\(target): \(String(decoding: r.body, as: UTF8.self))")
            #expect(T.header(r, "Content-Security-Policy") != nil)
        }
        #expect(f.ask("POST", "/console/api/deliveries/q1/purge?state=done", T.action).status == 400)
        #expect(f.ask("POST", "/console/api/deliveries/q1/replay?x=1", T.action).status == 400)
        #expect(f.store.info("q1")?.state == .dead)
        #expect(f.ask("GET", "/console/api/dead?").status == 200)  // an empty query is none
        #expect(f.ask("POST", "/console/api/deliveries/replay?state=dead", T.action).status == 200)
        #expect(f.store.info("q1")?.state == .received)
    }
}
