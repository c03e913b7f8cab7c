import HookSpool

/// Dead letters of one function that died for one reason: what an operator fixes, then replays
/// together.
public struct DeadLetterGroup: Sendable, Equatable {
    public var function: String?
    public var reason: String
    public var count: Int
    public var oldest: Double
    public var newest: Double
    /// Distinct event types, at most `DeadLetterGroups.shownTypes`.
    public var types: [String]
    /// The newest ids, at most `DeadLetterGroups.shownIds`.
    public var ids: [String]
}

/// Groups dead letters by function and reason. Pure.
public enum DeadLetterGroups {
    static let shownTypes = 5
    static let shownIds = 5
    static let maxReasonLength = 200

    /// The reason a dead letter is grouped by: the first line of its last error, cut to a
    /// readable length (one delivery's long stderr-like error must not make a group of its own
    /// for every byte after the point that matters).
    public static func reason(_ error: String?) -> String {
        guard let e = error, !e.isEmpty else { return "no error recorded" }
        let line = e.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? e
        return line.count > maxReasonLength ? String(line.prefix(maxReasonLength)) + "…" : line
    }

    /// Largest group first; equal sizes by the newest death first; each group's ids newest first.
    public static func group(_ dead: [DeliveryInfo]) -> [DeadLetterGroup] {
        var groups: [GroupKey: DeadLetterGroup] = [:]
        var members: [GroupKey: [DeliveryInfo]] = [:]
        for d in dead {
            let key = GroupKey(function: d.function, reason: reason(d.lastError))
            members[key, default: []].append(d)
        }
        for (key, list) in members {
            let byNewest = list.sorted { $0.updatedAt > $1.updatedAt }
            var types: [String] = []
            for d in byNewest where !types.contains(d.type) && types.count < shownTypes { types.append(d.type) }
            groups[key] = DeadLetterGroup(function: key.function, reason: key.reason, count: list.count,
                                          oldest: list.map(\.updatedAt).min() ?? 0, newest: byNewest.first?.updatedAt ?? 0,
                                          types: types, ids: byNewest.prefix(shownIds).map(\.id))
        }
        return groups.values.sorted { ($0.count, $0.newest) > ($1.count, $1.newest) }
    }

    /// The ids of the group `function` + `reason` (as `group` made them).
    public static func members(function: String?, reason r: String, of dead: [DeliveryInfo]) -> [String] {
        dead.filter { $0.function == function && reason($0.lastError) == r }.map(\.id)
    }

    private struct GroupKey: Hashable {
        let function: String?
        let reason: String
    }
}
