import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Every function's route, and the choice among them for one delivery. Pure: names, types and
/// metadata in, a decision out; the functions directory is read elsewhere (`FunctionTable`).
///
/// A route applies when the type is one of its `on` entries (exact) or that entry is the type's
/// family, and every `match` key holds. The most specific applicable route wins: more matched
/// keys, then exact before family, `_default` last. Two at the same specificity are a conflict,
/// never a silent pick.
public struct RouteTable: Sendable, Equatable {
    public let routes: [Route]

    public init(routes: [Route]) { self.routes = routes }

    /// The outcome for one delivery.
    public enum Choice: Sendable, Equatable {
        /// `why` for people: "nightly-eval: on batch.succeeded, matched job_group=nightly-eval (1 key)".
        case function(String, why: String)
        /// The tied functions, sorted, and why ("a and b both match T with 1 key; make one more specific").
        case conflict([String], why: String)
        case none
    }

    /// The route for a delivery of `type` (canonical) carrying `userMetadata` (nil: none).
    public func decide(type: String, userMetadata: JSON?) -> Choice {
        var best: Specificity?
        var winners: [(route: Route, values: [MatchValue])] = []
        // Keys of the most specific route that applied by type but whose metadata did not match:
        // said in the "why", as the likely surprise ("no route matched more keys").
        var missedKeys = 0
        for r in routes {
            guard let level = r.level(for: type) else { continue }
            guard let values = r.matchedValues(in: userMetadata) else {
                missedKeys = max(missedKeys, r.match.count)
                continue
            }
            let s = Specificity(keys: r.match.count, level: level)
            if let b = best, s < b { continue }
            if s == best {
                winners.append((r, values))
            } else {
                best = s
                winners = [(r, values)]
            }
        }
        guard let best, let first = winners.first else { return .none }
        if winners.count > 1 {
            let names = winners.map(\.route.function).sorted()
            return .conflict(names, why: RouteTable.conflictReason(names, type: type, keys: best.keys))
        }
        return .function(first.route.function, why: RouteTable.why(first.route, values: first.values, type: type, level: best.level,
                                                                   missedKeys: missedKeys))
    }

    /// "nightly-eval: on batch.succeeded, matched job_group=nightly-eval (1 key)".
    static func why(_ r: Route, values: [MatchValue], type: String, level: RouteLevel, missedKeys: Int) -> String {
        let family = String(type[..<(type.firstIndex(of: ".") ?? type.endIndex)])
        // Chosen by name alone, as before routes existed: said as it always was.
        if !r.declared && missedKeys == 0 {
            switch level {
            case .exact: return "exact match for \(type)"
            case .family: return "family of \(type): no function named \(type)"
            case .fallback: return "_default: no function named \(family == type ? type : "\(type) or \(family)")"
            }
        }
        var s = r.function + ": "
        switch level {
        case .exact: s += "on \(type)"
        case .family:
            s += r.function == family ? "family of \(type)" : "on \(family), the family of \(type)"
        case .fallback: s += "nothing more specific takes \(type)"
        }
        if !values.isEmpty {
            let pairs = zip(r.match, values).map { "\($0.path)=\($1)" }
            s += ", matched \(pairs.joined(separator: ", ")) (\(keys(values.count)))"
        }
        if missedKeys > values.count { s += ", no route matched more keys" }
        return s
    }

    /// "a and b both match T with 1 key; make one more specific".
    static func conflictReason(_ names: [String], type: String, keys: Int) -> String {
        let who = names.count == 2 ? "\(names[0]) and \(names[1]) both" : names.dropLast().joined(separator: ", ") + " and \(names.last!) all"
        return "\(who) match \(type) with \(RouteTable.keys(keys)); make one more specific"
    }

    static func keys(_ n: Int) -> String { n == 1 ? "1 key" : "\(n) keys" }
}

/// Two routes that tie for some delivery: the same number of keys, an event type both take at
/// the same level, and metadata that can satisfy both.
public struct RouteConflict: Sendable, Equatable {
    /// The two functions, sorted.
    public let functions: [String]
    /// A type both take at the same level (an `on` entry both name).
    public let type: String
    public let keys: Int

    /// "a and b can both match batch.succeeded with 1 key; a delivery that does fails until one is made more specific".
    public var problem: String {
        "\(functions[0]) and \(functions[1]) can both match \(type) with \(RouteTable.keys(keys)); such a delivery fails until one is made more specific"
    }
}

extension RouteTable {
    /// Every pair of routes that could tie, by function names.
    public func conflicts() -> [RouteConflict] {
        let candidates = routes.filter { !$0.isDefault }  // only one `_default` exists, and it ties with no one
        var out: [RouteConflict] = []
        for i in candidates.indices {
            for j in candidates.indices where j > i {
                if let c = RouteTable.conflict(candidates[i], candidates[j]) { out.append(c) }
            }
        }
        return out.sorted { $0.functions.lexicographicallyPrecedes($1.functions) }
    }

    /// Whether `a` and `b` could tie, and on which type.
    static func conflict(_ a: Route, _ b: Route) -> RouteConflict? {
        guard a.match.count == b.match.count else { return nil }
        for ca in a.match {
            for cb in b.match where !ca.isSatisfiableTogether(with: cb) { return nil }
        }
        guard let type = sharedType(a, b) else { return nil }
        return RouteConflict(functions: [a.function, b.function].sorted(), type: type, keys: a.match.count)
    }

    /// A type both routes take at the same level: an `on` entry they share. There is none
    /// without one — an exact tie needs the type in both lists, a family tie its family.
    static func sharedType(_ a: Route, _ b: Route) -> String? {
        a.on.filter(b.on.contains).sorted().first
    }
}
