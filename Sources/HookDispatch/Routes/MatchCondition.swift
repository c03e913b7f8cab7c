import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// One `match` key of a sidecar: a dotted path into the delivery's `user_metadata` and the values
/// (any of them) found there that make the route apply. Pure.
public struct MatchCondition: Sendable, Equatable, CustomStringConvertible {
    /// As written in the sidecar (`tenant.region`).
    public let path: String
    public let segments: [String]
    /// Distinct, in the sidecar's order.
    public let values: [MatchValue]

    public init(path: String, values: [MatchValue]) {
        self.path = path
        segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var seen = Set<MatchValue>()
        self.values = values.filter { seen.insert($0).inserted }
    }

    /// The metadata's value at the path when it is one of `values`. The path walks objects only
    /// (first member of a repeated key, as everywhere else); a missing key, an array or object
    /// at the end, or no metadata never matches — not even `null`, which matches only a `null`
    /// that is there.
    public func matchedValue(in metadata: JSON?) -> MatchValue? {
        guard var node = metadata else { return nil }
        for segment in segments {
            guard let next = node[segment] else { return nil }
            node = next
        }
        guard let v = MatchValue(node), values.contains(v) else { return nil }
        return v
    }

    /// Whether some `user_metadata` satisfies both: one path a strict prefix of the other needs a
    /// scalar and an object at the same place, so never; the same path needs a shared value;
    /// unrelated paths always can.
    public func isSatisfiableTogether(with other: MatchCondition) -> Bool {
        if segments == other.segments { return !Set(values).isDisjoint(with: other.values) }
        let n = min(segments.count, other.segments.count)
        return segments.prefix(n) != other.segments.prefix(n)
    }

    /// `job_group=nightly-eval` or `tenant.region=eu|us`.
    public var description: String { path + "=" + values.map(\.description).joined(separator: "|") }
}
