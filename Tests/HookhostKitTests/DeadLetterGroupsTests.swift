import Testing
@testable import HookhostKit
@testable import HookSpool

@Suite struct DeadLetterGroupsTests {
    static func dead(_ id: String, _ function: String?, _ error: String?, at: Double, type: String = "t") -> DeliveryInfo {
        var d = DeliveryInfo(id: id, type: type, receivedAt: at, verifiedBy: .hmac, updatedAt: at, body: SpoolRef(offset: 0, length: 1))
        d.state = .dead
        d.function = function
        d.lastError = error
        return d
    }

    @Test func groupedByFunctionAndTheErrorsFirstLineLargestFirst() {
        let list = [Self.dead("a", "f", "exited with status 1; no attempts left", at: 1),
                    Self.dead("b", "f", "exited with status 1; no attempts left", at: 3, type: "u"),
                    Self.dead("c", "f", "exited with status 2; no attempts left", at: 2),
                    Self.dead("d", "g", "exited with status 1; no attempts left\nmore", at: 4),
                    Self.dead("e", nil, nil, at: 5)]
        let g = DeadLetterGroups.group(list)
        #expect(g.count == 4)
        #expect(g[0].function == "f" && g[0].count == 2 && g[0].ids == ["b", "a"] && g[0].types == ["u", "t"])
        #expect(g[0].oldest == 1 && g[0].newest == 3)
        #expect(g.contains { $0.function == "g" && $0.reason == "exited with status 1; no attempts left" })
        #expect(g.contains { $0.function == nil && $0.reason == "no error recorded" })
        #expect(DeadLetterGroups.members(function: "f", reason: "exited with status 1; no attempts left", of: list).sorted() == ["a", "b"])
        #expect(DeadLetterGroups.members(function: nil, reason: "no error recorded", of: list) == ["e"])
    }

    @Test func aLongReasonIsCut() {
        let r = DeadLetterGroups.reason(String(repeating: "x", count: 500))
        #expect(r.count == DeadLetterGroups.maxReasonLength + 1 && r.hasSuffix("…"))
    }
}
