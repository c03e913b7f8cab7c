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

    @Test func anUnknownRequestIsStill404() {
        #expect(endpoint.answer(HTTPRequest(method: "GET", target: "/nothing?x=1")).status == 404)
    }
}
