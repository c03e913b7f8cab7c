import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct ControlEndpointTests {
    let endpoint = ControlEndpoint(admin: SpoolAdmin(spool: MemoryDeliveryStore(), functions: FunctionTable(directory: "/nonexistent")))

    @Test func dotsAndOtherCharactersAreEscapedSoNoClientRemovesDotSegments() {
        #expect(ControlEndpoint.percentEncode(".") == "%2E")
        #expect(ControlEndpoint.percentEncode("..") == "%2E%2E")
        #expect(ControlEndpoint.percentEncode("a.b-c_d~e/f?") == "a%2Eb-c_d~e%2Ff%3F")
        for id in [".", "..", "-h", "a/b", "ü x", "%2E"] {
            #expect(ControlEndpoint.percentDecode(ControlEndpoint.percentEncode(id)) == id)
        }
    }

    @Test(arguments: ["POST /dead/purge?typ=x", "POST /dead/purge?Type=x", "POST /dead/retry?id=x", "GET /deliveries?status=dead",
                      "GET /deliveries/x?type=a", "POST /deliveries/x/replay?force=1", "POST /deliveries/replay?state=dead&fuction=a",
                      "POST /deliveries/purge?state=dead&untill=1", "POST /functions/a/pause?now=1", "POST /dead/purge?function=a"])
    func unknownQueryParametersAreRefused(_ line: String) {
        let p = line.split(separator: " ").map(String.init)
        let r = endpoint.answer(HTTPRequest(method: p[0], target: p[1]))
        #expect(r.status == 400, "\(line): \(r.status)")
        let name = String(p[1].split(separator: "?")[1].split(separator: "=")[0])
        #expect(String(decoding: r.body, as: UTF8.self).contains(name))
    }

    @Test(arguments: ["POST /dead/purge?type=x", "POST /dead/retry?type=x", "GET /deliveries?state=dead&type=x", "GET /deliveries",
                      "GET /deliveries?function=f&since=1&until=2", "POST /deliveries/replay?state=dead&type=x&function=f&since=1&until=2",
                      "POST /deliveries/purge?state=done&function=f"])
    func knownQueryParametersAreAccepted(_ line: String) {
        let p = line.split(separator: " ").map(String.init)
        #expect(endpoint.answer(HTTPRequest(method: p[0], target: p[1])).status == 200)
    }

    @Test func statusWithoutAHostReportsTheSpoolAndSaysItIsNotRunning() throws {
        let now = 1_800_000_000.0
        let admin = SpoolAdmin(spool: StatusReportTests.store(now: now), functions: FunctionTable(directory: "/nonexistent"))
        let r = ControlEndpoint(admin: admin).answer(HTTPRequest(method: "GET", target: "/status"))
        #expect(r.status == 200)
        let report = try #require(StatusReport(json: r.body))
        #expect(!report.running && !report.ready)
        #expect(report.problems == ["not running: no hookhost serve holds this data directory"])
        #expect(report.deadLetterTotal == 3)
        #expect(report.functions?.problems == ["functions directory /nonexistent does not exist"])
        #expect(ControlEndpoint(admin: admin).answer(HTTPRequest(method: "GET", target: "/status?verbose=1")).status == 400)
    }

    @Test func statusFromTheRunningHostIsItsOwnReport() throws {
        var mine = StatusReport()
        mine.running = true
        mine.version = "9.9.9"
        let report = mine
        let e = ControlEndpoint(admin: SpoolAdmin(spool: MemoryDeliveryStore(), functions: FunctionTable(directory: "/nonexistent")),
                                status: { report })
        let r = e.answer(HTTPRequest(method: "GET", target: "/status"))
        #expect(try #require(StatusReport(json: r.body)).version == "9.9.9")
        #expect(e.answer(HTTPRequest(method: "POST", target: "/status")).status == 404)
    }

    /// Replay and purge by filter act on finished deliveries only, and a filter value that is not
    /// understood is refused rather than dropped (which would widen the action).
    @Test(arguments: ["POST /deliveries/replay", "POST /deliveries/replay?type=x", "POST /deliveries/replay?state=received",
                      "POST /deliveries/purge?state=running", "POST /deliveries/purge?state=dead&since=soon",
                      "POST /deliveries/replay?state=dead&since=5&until=5", "GET /deliveries?until=x", "POST /deliveries/purge?state=dead&function=",
                      "GET /deliveries?state=bogus"])
    func badFiltersAre400(_ line: String) {
        let p = line.split(separator: " ").map(String.init)
        #expect(endpoint.answer(HTTPRequest(method: p[0], target: p[1])).status == 400, "\(line)")
    }

    @Test func replayAndPurgeByFilterTakeWhatTheListShows() throws {
        let store = MemoryDeliveryStore()
        for (id, type) in [("a1", "alpha.one"), ("a2", "alpha.two"), ("b1", "beta")] {
            #expect(admitSync(store, id, type: type, body: #"{"type":"\#(type)"}"#) == .accepted)
            let started = try #require(store.start(id))
            var dead = StateChange(id: id, state: .dead, attempt: started.info.attempt, at: 1, error: "no")
            dead.function = type.hasPrefix("alpha") ? "alpha" : "beta"
            store.finish(dead)
        }
        let e = ControlEndpoint(admin: SpoolAdmin(spool: store, functions: FunctionTable(directory: "/nonexistent")))
        let listed = e.answer(HTTPRequest(method: "GET", target: "/deliveries?state=dead&function=alpha"))
        guard case .array(let items)? = try JSONParser.parse(listed.body)["deliveries"] else { Issue.record("no list"); return }
        #expect(items.count == 2)
        let r = e.answer(HTTPRequest(method: "POST", target: "/deliveries/replay?state=dead&function=alpha"))
        let replayed = try JSONParser.parse(r.body)["replayed"]?.intValue
        #expect(r.status == 200 && replayed == 2)
        #expect(store.list(state: .received).map(\.id) == ["a1", "a2"])
        let p = e.answer(HTTPRequest(method: "POST", target: "/deliveries/purge?state=dead&type=beta"))
        let purged = try JSONParser.parse(p.body)["purged"]?.intValue
        #expect(purged == 1)
        #expect(store.info("b1") == nil && store.info("a1") != nil)
    }

    @Test func pauseNamesAFunctionOfTheDirectoryAndSaysWhetherItChanged() throws {
        let dir = makeTempDir("ctlpause")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "job")
        let pauses = FunctionPauses()
        let e = ControlEndpoint(admin: SpoolAdmin(spool: MemoryDeliveryStore(), functions: FunctionTable(directory: dir), pauses: pauses))
        let unknown = e.answer(HTTPRequest(method: "POST", target: "/functions/nope/pause"))
        #expect(unknown.status == 404 && String(decoding: unknown.body, as: UTF8.self).contains("no function nope in \(dir)"))
        let first = try JSONParser.parse(e.answer(HTTPRequest(method: "POST", target: "/functions/job/pause")).body)
        #expect(first["paused"]?.boolValue == true && first["changed"]?.boolValue == true && pauses.isPaused("job"))
        let again = try JSONParser.parse(e.answer(HTTPRequest(method: "POST", target: "/functions/job/pause")).body)
        #expect(again["changed"]?.boolValue == false && again["since"]?.stringValue == first["since"]?.stringValue)
        #expect(e.answer(HTTPRequest(method: "POST", target: "/functions/job/resume")).status == 200 && !pauses.isPaused("job"))
        #expect(e.answer(HTTPRequest(method: "GET", target: "/functions/job/pause")).status == 404)
    }

    /// `root=` naming no delivery is 404 (it was an empty pipeline, as if the id existed), and a
    /// delivery's children are its own, by the bytes of the id: `é` is not `e` + U+0301.
    @Test func unknownRootIs404AndChildrenAreTheDeliverysOwnByBytes() throws {
        let store = MemoryDeliveryStore()
        let e = ControlEndpoint(admin: SpoolAdmin(spool: store, functions: FunctionTable(directory: "/nonexistent")))
        for id in ["\u{e9}", "e\u{301}"] {
            store.admit(id: id, type: "ping", verifiedBy: .hmac, jwt: nil, head: DeliveryHead(), body: bytes("{}")) { _ in }
            let started = try #require(store.start(id, forRun: true))
            let child = ChildDelivery(id: id + "~e1", type: "app.x", body: bytes(#"{"type":"app.x","data":{}}"#),
                                      head: DeliveryHead(chain: .init(parent: id, root: id, depth: 1)))
            store.finish(StateChange(id: id, state: .done, attempt: started.info.attempt, at: 1), .durable, emitting: [child])
        }
        let unknown = e.answer(HTTPRequest(method: "GET", target: "/deliveries?root=nope"))
        #expect(unknown.status == 404 && String(decoding: unknown.body, as: UTF8.self).contains("no delivery nope"))
        let listed = e.answer(HTTPRequest(method: "GET", target: "/deliveries?root=" + ControlEndpoint.percentEncode("\u{e9}")))
        #expect(listed.status == 200)
        guard case .array(let items)? = try JSONParser.parse(listed.body)["deliveries"] else { Issue.record("no deliveries"); return }
        let ids = items.compactMap { $0["id"]?.stringValue }
        #expect(ids.map { Array($0.utf8) } == [Array("\u{e9}".utf8), Array("\u{e9}~e1".utf8)])
        let shown = e.answer(HTTPRequest(method: "GET", target: "/deliveries/" + ControlEndpoint.percentEncode("e\u{301}")))
        guard case .array(let kids)? = try JSONParser.parse(shown.body)["children"] else { Issue.record("no children"); return }
        let children = kids.compactMap { $0["id"]?.stringValue }
        #expect(children.map { Array($0.utf8) } == [Array("e\u{301}~e1".utf8)])
    }

    /// `since`/`until` are decimal seconds: hex (which Double(_:) reads), infinities and NaN are
    /// refused, not turned into a time.
    @Test(arguments: ["since=0x10", "until=0x1p40", "since=0X1A", "since=1e999", "since=nan", "since=-inf", "since=", "since=1.5e9x"])
    func timesThatAreNotDecimalSecondsAre400(_ q: String) {
        let r = endpoint.answer(HTTPRequest(method: "POST", target: "/deliveries/replay?state=dead&" + q))
        #expect(r.status == 400, "\(q): \(r.status)")
        #expect(endpoint.answer(HTTPRequest(method: "POST", target: "/deliveries/replay?state=dead&since=-1e+20&until=1777896000.5")).status == 200)
    }

    /// An escape is `%` and two hex digits: `%+a` is not byte 0x0A (UInt8(_:radix:) reads a sign).
    @Test func anEscapeIsPercentAndTwoHexDigitsExactly() {
        #expect(ControlEndpoint.percentDecode("%+a") == "%+a")
        #expect(ControlEndpoint.percentDecode("a%-0b") == "a%-0b")
        #expect(ControlEndpoint.percentDecode("%4") == "%4" && ControlEndpoint.percentDecode("%") == "%")
        #expect(ControlEndpoint.percentDecode("%41%6a%2e") == "Aj.")
        let r = endpoint.answer(HTTPRequest(method: "POST", target: "/functions/%+a/pause"))
        #expect(r.status == 404 && String(decoding: r.body, as: UTF8.self).contains("%+a"))
    }

    @Test func anUnknownRequestIsStill404() {
        #expect(endpoint.answer(HTTPRequest(method: "GET", target: "/nothing?x=1")).status == 404)
    }
}
