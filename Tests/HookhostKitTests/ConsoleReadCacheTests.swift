import Testing
@testable import HookhostKit
@testable import HookHTTP

@Suite struct ConsoleReadCacheTests {
    static func ok(_ text: String) -> HTTPResponse { .text(200, text) }

    @Test func anAnswerIsKeptForLessThanASecondHalf() {
        var c = ConsoleReadCache()
        c.keep("/console/api/dead", Self.ok("a"), now: 100)
        #expect(c.answer("/console/api/dead", now: 100.49)?.body == Array("a".utf8))
        #expect(c.answer("/console/api/dead", now: 100.5) == nil)
        #expect(c.answer("/console/api/dead", now: 99.9) == nil)  // the clock set back: stale
        #expect(c.answer("/console/api/dead?x", now: 100) == nil)  // another target is another view
    }

    @Test func errorsAndLargeAnswersAreNotKept() {
        var c = ConsoleReadCache()
        c.keep("a", .error(404, "no delivery a"), now: 1)
        c.keep("b", HTTPResponse(status: 200, body: [UInt8](repeating: 0x61, count: ConsoleReadCache.maxBytes + 1)), now: 1)
        #expect(c.answer("a", now: 1) == nil && c.answer("b", now: 1) == nil && c.count == 0)
    }

    @Test func entriesAreBoundedAndClearedByAnAction() {
        var c = ConsoleReadCache()
        for i in 0..<(ConsoleReadCache.maxEntries * 3) { c.keep("k\(i)", Self.ok("\(i)"), now: 1 + Double(i) / 1000) }
        #expect(c.count == ConsoleReadCache.maxEntries)
        #expect(c.answer("k\(ConsoleReadCache.maxEntries * 3 - 1)", now: 1.2) != nil && c.answer("k0", now: 1.2) == nil)
        c.keep("late", Self.ok("x"), now: 5)  // the expired ones go when one is kept
        #expect(c.count == 1)
        c.clear()
        #expect(c.answer("late", now: 5) == nil)
    }

    @Test func theWholeOutputDownloadIsNeverKept() {
        let r = HTTPRequest(method: "GET", target: "/console/api/deliveries/x/output")
        #expect(ConsoleReadCache.key(.output("x"), r) == nil)
        #expect(ConsoleReadCache.key(.deliveries, HTTPRequest(method: "GET", target: "/console/api/deliveries?limit=5")) == "/console/api/deliveries?limit=5")
    }
}
