import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// A sidecar's `concurrency`: at most `limit` runs at once per value of `key`. Pure.
public struct ConcurrencyKeySpec: Sendable, Equatable {
    public var key: FlowKeyPath
    public var limit: Int

    public init(key: FlowKeyPath, limit: Int) {
        self.key = key
        self.limit = limit
    }

    static let limitRange = SettingRange.count(1, 1024)

    /// `{"key": "user_metadata.job_group", "limit": 2}`: both required, nothing else.
    static func parse(_ value: JSON) throws(ConfigError) -> ConcurrencyKeySpec {
        let members = try FlowSpecParsing.object(value, field: "concurrency", allowed: ["key", "limit"],
                                                 example: #"{"key": "user_metadata.job_group", "limit": 2}"#)
        guard let key = members["key"] else {
            throw ConfigError(setting: "sidecar concurrency.key", message: "is required (a function-wide limit is max_concurrency)")
        }
        guard let limit = members["limit"] else { throw ConfigError(setting: "sidecar concurrency.limit", message: "is required") }
        return ConcurrencyKeySpec(key: try FlowSpecParsing.keyPath(key, field: "concurrency.key"),
                                  limit: Int(try FlowSpecParsing.number(limit, field: "concurrency.limit", range: limitRange)))
    }

    /// `2@user_metadata.job_group` (2 per value of the key), as `hookhost functions` shows it.
    public var summary: String { "\(limit)@\(key)" }
}

/// A sidecar's `rate`: at most `limit` runs started in any window of `per` seconds, for the
/// function or, with `key`, per value of the key. Pure.
public struct RateSpec: Sendable, Equatable {
    public var limit: Int
    public var per: Double
    public var key: FlowKeyPath?

    public init(limit: Int, per: Double, key: FlowKeyPath? = nil) {
        self.limit = limit
        self.per = per
        self.key = key
    }

    static let limitRange = SettingRange.count(1, 1_000_000)
    static let perRange = SettingRange.seconds(from: 0.001, max: 86_400)

    /// `{"limit": 60, "per": 60}` with an optional `"key"`.
    static func parse(_ value: JSON) throws(ConfigError) -> RateSpec {
        let members = try FlowSpecParsing.object(value, field: "rate", allowed: ["limit", "per", "key"], example: #"{"limit": 60, "per": 60}"#)
        guard let limit = members["limit"] else { throw ConfigError(setting: "sidecar rate.limit", message: "is required") }
        guard let per = members["per"] else { throw ConfigError(setting: "sidecar rate.per", message: "is required (seconds)") }
        var spec = RateSpec(limit: Int(try FlowSpecParsing.number(limit, field: "rate.limit", range: limitRange)),
                            per: try FlowSpecParsing.number(per, field: "rate.per", range: perRange))
        if let key = members["key"] { spec.key = try FlowSpecParsing.keyPath(key, field: "rate.key") }
        return spec
    }

    /// `60/60s`, or `60/60s@user_metadata.tenant` per value of a key, as `hookhost functions` shows it.
    public var summary: String {
        "\(limit)/\(SettingRange.format(per))s" + (key.map { "@\($0)" } ?? "")
    }
}

/// The checks the flow fields share: an object of known keys, numbers in range, key paths.
enum FlowSpecParsing {
    /// The object's members by key (the last of a repeated key wins, as for top-level fields).
    static func object(_ value: JSON, field: String, allowed: [String], example: String) throws(ConfigError) -> [String: JSON] {
        guard case .object(let members) = value else {
            throw ConfigError(setting: "sidecar \(field)", message: "must be an object like \(example)")
        }
        var out: [String: JSON] = [:]
        for m in members {
            guard allowed.contains(m.key) else {
                throw ConfigError(setting: "sidecar \(field)", message: "unknown key \(brief(.string(m.key))) (allowed: \(allowed.joined(separator: ", ")))")
            }
            out[m.key] = m.value
        }
        return out
    }

    static func number(_ value: JSON, field: String, range: SettingRange) throws(ConfigError) -> Double {
        guard let v = range.check(value) else {
            throw ConfigError(setting: "sidecar \(field)", message: "expected \(range.expectation), got \(brief(value))")
        }
        return v
    }

    static func keyPath(_ value: JSON, field: String) throws(ConfigError) -> FlowKeyPath {
        guard let text = value.stringValue else {
            throw ConfigError(setting: "sidecar \(field)", message: "must be a string: \(FlowKeyPath.expectation); got \(brief(value))")
        }
        switch FlowKeyPath.parse(text) {
        case .success(let path): return path
        case .failure(let e): throw ConfigError(setting: "sidecar \(field)", message: "\(brief(value)) \(e.description)")
        }
    }

    /// A value as JSON, cut at 40 characters (an error message quotes what was written).
    static func brief(_ v: JSON) -> String {
        var w = JSONWriter()
        w.value(v)
        let text = w.string
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}
