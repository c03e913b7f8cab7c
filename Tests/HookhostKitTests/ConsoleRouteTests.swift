import Testing
@testable import HookhostKit

@Suite struct ConsoleRouteTests {
    @Test func pathsMapToRoutes() {
        let cases: [(String, String, ConsoleRoute)] = [
            ("GET", "/console", .redirect), ("GET", "/console/", .asset(.index)), ("HEAD", "/console/console.js", .asset(.script)),
            ("GET", "/console/console.css", .asset(.style)), ("GET", "/console/other.js", .notFound),
            ("GET", "/console/api/status", .read(.status)), ("GET", "/console/api/samples", .read(.samples)),
            ("GET", "/console/api/deliveries", .read(.deliveries)), ("GET", "/console/api/deliveries/a%2Fb", .read(.delivery("a/b"))),
            ("GET", "/console/api/deliveries/replay", .read(.delivery("replay"))), ("GET", "/console/api/deliveries/x/output", .read(.output("x"))),
            ("GET", "/console/api/dead", .read(.dead)), ("GET", "/console/api/functions", .read(.functions)),
            ("POST", "/console/api/deliveries/x/replay", .action(.replay("x"))), ("POST", "/console/api/deliveries/x/purge", .action(.purge("x"))),
            ("POST", "/console/api/deliveries/replay", .action(.replayFiltered)), ("POST", "/console/api/deliveries/purge", .action(.purgeFiltered)),
            ("POST", "/console/api/dead/replay", .action(.replayDeadGroup)), ("POST", "/console/api/functions/f/pause", .action(.pause("f"))),
            ("POST", "/console/api/functions/f/resume", .action(.resume("f"))),
            ("GET", "/console/api/deliveries/x/replay", .methodNotAllowed(allow: "POST")),
            ("POST", "/console/api/status", .methodNotAllowed(allow: "GET, HEAD")), ("POST", "/console/", .methodNotAllowed(allow: "GET, HEAD")),
            ("GET", "/console/api/nothing", .notFound), ("GET", "/console/api/deliveries//replay", .notFound),
        ]
        for (method, path, want) in cases { #expect(ConsoleRoute.of(method: method, path: path) == want, "\(method) \(path)") }
    }

    @Test func onlyTheConsolesPathsAreItsOwn() {
        #expect(ConsoleRoute.owns("/console") && ConsoleRoute.owns("/console/") && ConsoleRoute.owns("/console/api/x"))
        #expect(!ConsoleRoute.owns("/consoles") && !ConsoleRoute.owns("/webhooks") && !ConsoleRoute.owns("/"))
    }
}
