import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// How a route applies to an event type; higher is more specific.
public enum RouteLevel: Int, Comparable, Sendable {
    /// `_default`: applies to everything.
    case fallback
    /// An `on` entry is the type's family (text before the first dot).
    case family
    /// An `on` entry is the type itself.
    case exact

    public static func < (a: RouteLevel, b: RouteLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Which of two applicable routes wins: more matched keys, then the more exact level.
public struct Specificity: Comparable, Sendable {
    public let keys: Int
    public let level: RouteLevel

    public static func < (a: Specificity, b: Specificity) -> Bool { (a.keys, a.level) < (b.keys, b.level) }
}

/// One function's claim on deliveries: the types (or families) it takes and what their
/// `user_metadata` must hold. A function without `on` or `match` claims its own name, as the
/// functions directory always worked; `_default` claims everything and matches nothing. Pure.
public struct Route: Sendable, Equatable {
    public let function: String
    /// Types and families; empty for `_default`.
    public let on: [String]
    public let match: [MatchCondition]
    /// `on` or `match` came from the sidecar (not just the file name).
    public let declared: Bool

    public init(function: String, spec: RouteSpec = RouteSpec()) {
        self.function = function
        if function == "_default" {
            on = []
            match = []
            declared = false
        } else {
            on = spec.on ?? [function]
            match = spec.match
            declared = !spec.isEmpty
        }
    }

    public var isDefault: Bool { function == "_default" }

    /// How the route applies to `type` by its type alone (`match` aside); nil: not at all.
    public func level(for type: String) -> RouteLevel? {
        if isDefault { return .fallback }
        if on.contains(type) { return .exact }
        if let dot = type.firstIndex(of: "."), on.contains(where: { $0.utf8.elementsEqual(type[..<dot].utf8) }) { return .family }
        return nil
    }

    /// The metadata values behind every `match` key, in order; nil when one does not hold.
    public func matchedValues(in metadata: JSON?) -> [MatchValue]? {
        var out: [MatchValue] = []
        out.reserveCapacity(match.count)
        for c in match {
            guard let v = c.matchedValue(in: metadata) else { return nil }
            out.append(v)
        }
        return out
    }
}
