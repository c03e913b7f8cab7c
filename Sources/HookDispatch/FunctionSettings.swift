import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// A function's optional sidecar `<name>.json`; absent fields fall back to the host's settings.
public struct FunctionSettings: Sendable, Equatable {
    public var timeout: Double?
    public var maxConcurrency: Int?
    public var maxAttempts: Int?
    public var retryLaterFor: Double?
    public var fetch: Bool?
    public var env: [(String, String)] = []
    /// Host variables handed to this function only (CONTRACT §4 `pass_env`).
    public var passEnv: [String] = []
    /// `on` and `match`: which deliveries the function takes besides (or instead of) its name.
    public var route = RouteSpec()
    /// `concurrency`: runs at once per key value (the function's `max_concurrency` still caps them all).
    public var concurrency: ConcurrencyKeySpec?
    /// `rate`: runs started per period, for the function or per key value.
    public var rate: RateSpec?
    /// Keys the host does not know; reported (log, `hookhost functions`), not fatal, so a sidecar
    /// written for a newer host still runs.
    public var unknownKeys: [String] = []

    public init() {}

    /// The documented range of each numeric sidecar field (README "Sidecars").
    public static let ranges: [String: SettingRange] = [
        "timeout": .seconds(max: 86_400),
        "max_concurrency": .count(1, 1024),
        "max_attempts": .count(1, 1000),
        "retry_later_for": .seconds(max: 365 * 86_400),
        "concurrency.limit": ConcurrencyKeySpec.limitRange,
        "rate.limit": RateSpec.limitRange,
        "rate.per": RateSpec.perRange,
    ]

    public static func == (a: FunctionSettings, b: FunctionSettings) -> Bool {
        a.timeout == b.timeout && a.maxConcurrency == b.maxConcurrency && a.maxAttempts == b.maxAttempts
            && a.retryLaterFor == b.retryLaterFor && a.fetch == b.fetch && a.passEnv == b.passEnv && a.unknownKeys == b.unknownKeys
            && a.route == b.route && a.concurrency == b.concurrency && a.rate == b.rate
            && a.env.map { "\($0.0)=\($0.1)" } == b.env.map { "\($0.0)=\($0.1)" }
    }

    /// Parses a sidecar; the error names the field that is wrong and its allowed range.
    public static func parse(_ bytes: [UInt8]) throws(ConfigError) -> FunctionSettings {
        let members = try object(bytes)
        var s = FunctionSettings()
        s.route = try parseRoute(members)
        for m in members {
            switch m.key {
            case "timeout": s.timeout = try number(m)
            case "max_concurrency": s.maxConcurrency = Int(try number(m))
            case "max_attempts": s.maxAttempts = Int(try number(m))
            case "retry_later_for": s.retryLaterFor = try number(m)
            case "fetch":
                guard let v = m.value.boolValue else { throw ConfigError(setting: "sidecar fetch", message: "must be true or false") }
                s.fetch = v
            case "env":
                guard case .object(let vars) = m.value else { throw ConfigError(setting: "sidecar env", message: "must be an object of strings") }
                for v in vars {
                    guard let str = v.value.stringValue, !v.key.isEmpty, !v.key.contains("="), !v.key.contains("\0"), !str.contains("\0") else {
                        throw ConfigError(setting: "sidecar env", message: "\(v.key) must map to a string")
                    }
                    s.env.append((v.key, str))
                }
            case "on", "match": break  // parsed above
            case "concurrency": s.concurrency = try ConcurrencyKeySpec.parse(m.value)
            case "rate": s.rate = try RateSpec.parse(m.value)
            case "pass_env":
                guard case .array(let items) = m.value else { throw ConfigError(setting: "sidecar pass_env", message: "must be an array of variable names") }
                for item in items {
                    guard let name = item.stringValue, isVariableName(name) else {
                        throw ConfigError(setting: "sidecar pass_env", message: "must be an array of variable names")
                    }
                    s.passEnv.append(name)
                }
            default:
                s.unknownKeys.append(m.key)
            }
        }
        // One key groups a delivery for both (one queue per key value, served in turn).
        if let c = s.concurrency, let r = s.rate, let rk = r.key, rk != c.key {
            throw ConfigError(setting: "sidecar rate.key", message: "is \(rk) but concurrency.key is \(c.key); when both are given they must be the same")
        }
        return s
    }

    /// Only `on` and `match`: a sidecar unusable for another field still says where the function
    /// belongs, so its deliveries reach it (and fail naming the sidecar) instead of another function.
    public static func parseRoute(_ bytes: [UInt8]) throws(ConfigError) -> RouteSpec {
        try parseRoute(try object(bytes))
    }

    private static func parseRoute(_ members: [JSONMember]) throws(ConfigError) -> RouteSpec {
        var spec = RouteSpec()
        // The last of a repeated key wins, as for the other fields.
        if let on = members.last(where: { $0.key == "on" }) { spec.on = try RouteSpec.parseOn(on.value) }
        if let match = members.last(where: { $0.key == "match" }) { spec.match = try RouteSpec.parseMatch(match.value) }
        return spec
    }

    private static func object(_ bytes: [UInt8]) throws(ConfigError) -> [JSONMember] {
        let json: JSON
        do { json = try JSONParser.parse(bytes) } catch {
            throw ConfigError(setting: "sidecar", message: "not valid JSON: \(error)")
        }
        guard case .object(let members) = json else { throw ConfigError(setting: "sidecar", message: "must be a JSON object") }
        return members
    }

    private static func number(_ m: JSONMember) throws(ConfigError) -> Double {
        let range = ranges[m.key]!
        guard let v = range.check(m.value) else {
            throw ConfigError(setting: "sidecar \(m.key)", message: "expected \(range.expectation), got \(describe(m.value))")
        }
        return v
    }

    private static func describe(_ v: JSON) -> String {
        var w = JSONWriter()
        w.value(v)
        let text = w.string
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }

    static func isVariableName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }
}
