/// A function's optional sidecar `<name>.json`; absent fields fall back to the host's settings.
public struct FunctionSettings: Sendable, Equatable {
    public var timeout: Double?
    public var maxConcurrency: Int?
    public var maxAttempts: Int?
    public var fetch: Bool?
    public var env: [(String, String)] = []

    public init() {}

    public static func == (a: FunctionSettings, b: FunctionSettings) -> Bool {
        a.timeout == b.timeout && a.maxConcurrency == b.maxConcurrency && a.maxAttempts == b.maxAttempts
            && a.fetch == b.fetch && a.env.map { "\($0.0)=\($0.1)" } == b.env.map { "\($0.0)=\($0.1)" }
    }

    /// Parses a sidecar; the error names the field that is wrong.
    public static func parse(_ bytes: [UInt8]) throws(ConfigError) -> FunctionSettings {
        let json: JSON
        do { json = try JSONParser.parse(bytes) } catch {
            throw ConfigError(setting: "sidecar", message: "not valid JSON: \(error)")
        }
        guard case .object(let members) = json else { throw ConfigError(setting: "sidecar", message: "must be a JSON object") }
        var s = FunctionSettings()
        for m in members {
            switch m.key {
            case "timeout":
                guard let v = m.value.doubleValue, v > 0 else { throw ConfigError(setting: "sidecar timeout", message: "must be a positive number of seconds") }
                s.timeout = v
            case "max_concurrency":
                guard let v = m.value.intValue, v > 0 else { throw ConfigError(setting: "sidecar max_concurrency", message: "must be a positive integer") }
                s.maxConcurrency = v
            case "max_attempts":
                guard let v = m.value.intValue, v > 0 else { throw ConfigError(setting: "sidecar max_attempts", message: "must be a positive integer") }
                s.maxAttempts = v
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
            default:
                break  // unknown keys are ignored so newer sidecars work with older hosts
            }
        }
        return s
    }
}
