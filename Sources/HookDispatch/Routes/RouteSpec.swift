import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// A sidecar's routing fields: `on` (event types or families the function takes) and `match`
/// (what the delivery's `user_metadata` must hold). Empty: the function is chosen by its file
/// name, as before routes existed. Pure.
public struct RouteSpec: Sendable, Equatable {
    /// Canonical types and families, distinct; nil: the function's own name.
    public var on: [String]?
    public var match: [MatchCondition] = []

    public init(on: [String]? = nil, match: [MatchCondition] = []) {
        self.on = on
        self.match = match
    }

    public var isEmpty: Bool { on == nil && match.isEmpty }

    /// Bounds, so one sidecar cannot make every delivery's routing slow or its output unreadable.
    public static let maxOn = 64
    public static let maxKeys = 32
    public static let maxValues = 64
    public static let maxPathBytes = 256
    public static let maxSegments = 16
    public static let maxValueBytes = 1024

    /// `on`: one type or family, or a non-empty list of them.
    static func parseOn(_ value: JSON) throws(ConfigError) -> [String] {
        func bad(_ m: String) -> ConfigError { ConfigError(setting: "sidecar on", message: m) }
        let items: [JSON]
        switch value {
        case .string: items = [value]
        case .array(let a): items = a
        default: throw bad("must be an event type or family, or a list of them")
        }
        guard !items.isEmpty else { throw bad("must name at least one event type or family") }
        guard items.count <= maxOn else { throw bad("names \(items.count) types; at most \(maxOn)") }
        var out: [String] = []
        for item in items {
            guard let name = item.stringValue else { throw bad("must be an event type or family, or a list of them; got \(brief(item))") }
            guard EventType.isValid(name) else { throw bad("\(brief(item)) is not an event type or family (a plain dotted name)") }
            if name == "_default" { throw bad("_default already takes every event; name types or families") }
            if EventType.canonical(name) != name {
                throw bad("\(name) is delivered as \(EventType.canonical(name)); name that")
            }
            if !out.contains(name) { out.append(name) }
        }
        return out
    }

    /// `match`: an object of dotted paths to a scalar or a non-empty list of scalars.
    static func parseMatch(_ value: JSON) throws(ConfigError) -> [MatchCondition] {
        func bad(_ m: String) -> ConfigError { ConfigError(setting: "sidecar match", message: m) }
        guard case .object(let members) = value else { throw bad("must be an object of user_metadata paths to values") }
        guard !members.isEmpty else { throw bad("must name at least one key (leave match out to take every delivery)") }
        guard members.count <= maxKeys else { throw bad("has \(members.count) keys; at most \(maxKeys)") }
        var out: [MatchCondition] = []
        for m in members {
            let path = m.key
            let shown = brief(.string(path))
            guard path.utf8.count <= maxPathBytes else { throw bad("key \(shown) is longer than \(maxPathBytes) bytes") }
            guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw bad("key \(shown) holds a control character")
            }
            let segments = path.split(separator: ".", omittingEmptySubsequences: false)
            guard !segments.contains(where: \.isEmpty) else { throw bad("key \(shown) has an empty segment (a dotted path like tenant.region)") }
            guard segments.count <= maxSegments else { throw bad("key \(shown) has \(segments.count) segments; at most \(maxSegments)") }
            guard !out.contains(where: { $0.path == path }) else { throw bad("key \(shown) appears twice") }
            let items: [JSON]
            if case .array(let a) = m.value { items = a } else { items = [m.value] }
            guard !items.isEmpty else { throw bad("\(path): the list of values is empty") }
            guard items.count <= maxValues else { throw bad("\(path): \(items.count) values; at most \(maxValues)") }
            var values: [MatchValue] = []
            for item in items {
                guard let v = MatchValue(item) else {
                    throw bad("\(path): \(brief(item)) is not a string, number, true, false or null (a list holds only those)")
                }
                if case .number(let d) = v, !d.isFinite { throw bad("\(path): \(brief(item)) is out of range") }
                if v.description.utf8.count > maxValueBytes { throw bad("\(path): a value is longer than \(maxValueBytes) bytes") }
                values.append(v)
            }
            out.append(MatchCondition(path: path, values: values))
        }
        return out
    }

    /// A value as it appears in an error message, cut short.
    static func brief(_ v: JSON) -> String {
        var w = JSONWriter()
        w.value(v)
        let text = w.string
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}
