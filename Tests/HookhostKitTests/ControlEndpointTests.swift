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
                      "GET /deliveries/x?type=a", "POST /deliveries/x/replay?force=1"])
    func unknownQueryParametersAreRefused(_ line: String) {
        let p = line.split(separator: " ").map(String.init)
        let r = endpoint.answer(HTTPRequest(method: p[0], target: p[1]))
        #expect(r.status == 400, "\(line): \(r.status)")
        let name = String(p[1].split(separator: "?")[1].split(separator: "=")[0])
        #expect(String(decoding: r.body, as: UTF8.self).contains(name))
    }

    @Test(arguments: ["POST /dead/purge?type=x", "POST /dead/retry?type=x", "GET /deliveries?state=dead&type=x", "GET /deliveries"])
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

    @Test func anUnknownRequestIsStill404() {
        #expect(endpoint.answer(HTTPRequest(method: "GET", target: "/nothing?x=1")).status == 404)
    }
}
