/// One setting, declared once: its variable name, where its value goes, its range, its default as
/// operators read it, one line of documentation, and whether the value is a secret. Parsing the
/// environment and flags, `--help`, the reference table and secret scrubbing all read it.
public struct Setting<Root>: Sendable {
    /// The environment variable (`HOOKHOST_MAX_BODY`); the flag derives from it.
    public let name: String
    /// One line: what it does.
    public let meaning: String
    /// The accepted range of a numeric setting (nil: not numeric).
    public let range: SettingRange?
    /// Whether the value is a secret (as a flag it shows in /proc/<pid>/cmdline; never logged).
    public let isSecret: Bool
    private let fixedDefault: String?
    private let assign: @Sendable (inout Root, String) throws(ConfigError) -> Void
    private let show: @Sendable (Root) -> String?

    /// A setting applied by `assign`; `show` renders the current value (nil: none).
    public init(_ name: String, meaning: String, range: SettingRange? = nil, secret: Bool = false, default fixedDefault: String? = nil,
                show: @escaping @Sendable (Root) -> String? = { _ in nil },
                assign: @escaping @Sendable (inout Root, String) throws(ConfigError) -> Void) {
        self.name = name
        self.meaning = meaning
        self.range = range
        self.isSecret = secret
        self.fixedDefault = fixedDefault
        self.assign = assign
        self.show = show
    }

    /// `HOOKHOST_SECRETS_FILE` → `--secrets-file`, `GEMINI_API_KEY` → `--gemini-api-key`.
    public var flag: String { Setting.flag(for: name) }

    /// Parses `value` into `root`; the error names the setting.
    public func apply(_ value: String, to root: inout Root) throws(ConfigError) { try assign(&root, value) }

    /// The default as operators read it (`0.0.0.0:8080`, `number of cores`, `—` for none).
    public func defaultText(_ defaults: Root) -> String { fixedDefault ?? show(defaults) ?? "—" }

    /// The range as the reference writes it (`1 … 1000`, `> 0 … 86400 s`), nil when not numeric.
    public var rangeText: String? {
        guard let r = range else { return nil }
        let low = SettingRange.format(r.lower), high = SettingRange.format(r.upper)
        if r.integer { return "\(low) … \(high)" }
        return (r.lowerInclusive ? "\(low)" : "> \(low)") + " … \(high) s"
    }

    public static func flag(for variable: String) -> String {
        let base = variable.hasPrefix("HOOKHOST_") ? String(variable.dropFirst(9)) : variable
        return "--" + base.lowercased().replacingAll("_", "-")
    }
}

extension Setting {
    /// Seconds in `range`, into `path`.
    public static func seconds(_ name: String, _ path: WritableKeyPath<Root, Double> & Sendable, _ range: SettingRange,
                               _ meaning: String, default fixed: String? = nil) -> Setting {
        Setting(name, meaning: meaning, range: range, default: fixed, show: { SettingRange.format($0[keyPath: path]) }) { root, v throws(ConfigError) in
            root[keyPath: path] = try range.parseOrThrow(name, v)
        }
    }

    /// An integer in `range`, into `path`.
    public static func count(_ name: String, _ path: WritableKeyPath<Root, Int> & Sendable, _ range: SettingRange,
                             _ meaning: String, default fixed: String? = nil) -> Setting {
        Setting(name, meaning: meaning, range: range, default: fixed, show: { String($0[keyPath: path]) }) { root, v throws(ConfigError) in
            root[keyPath: path] = Int(try range.parseOrThrow(name, v))
        }
    }

    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`, in any case), into `path`: a typo
    /// must not pass for either, since such settings switch checks on and off.
    public static func boolean(_ name: String, _ path: WritableKeyPath<Root, Bool> & Sendable, _ meaning: String) -> Setting {
        Setting(name, meaning: meaning, show: { $0[keyPath: path] ? "true" : "false" }) { root, v throws(ConfigError) in
            switch v.trimmingSpaces.lowercased() {
            case "true", "1", "yes", "on": root[keyPath: path] = true
            case "false", "0", "no", "off": root[keyPath: path] = false
            default: throw ConfigError(setting: name, message: "expected true or false, got \"\(v.prefix(40))\"")
            }
        }
    }

    /// A file or directory path. Empty is refused, not taken as the working directory: an unset
    /// variable in a compose file (`HOOKHOST_DATA=${DATA}`) would otherwise put the spool in the
    /// cwd, or run whatever executables sit there.
    public static func path(_ name: String, _ path: WritableKeyPath<Root, String?> & Sendable, _ meaning: String) -> Setting {
        Setting(name, meaning: meaning, show: { $0[keyPath: path] }) { root, v throws(ConfigError) in
            root[keyPath: path] = try Setting.nonEmptyPath(name, v)
        }
    }

    /// A path with a default.
    public static func path(_ name: String, _ path: WritableKeyPath<Root, String> & Sendable, _ meaning: String) -> Setting {
        Setting(name, meaning: meaning, show: { $0[keyPath: path] }) { root, v throws(ConfigError) in
            root[keyPath: path] = try Setting.nonEmptyPath(name, v)
        }
    }

    private static func nonEmptyPath(_ name: String, _ v: String) throws(ConfigError) -> String {
        guard !v.isEmpty else { throw ConfigError(setting: name, message: "is empty; give a path (unset it to use the default)") }
        // `/data\n` (a value read from a file with its newline) would be created as a directory of
        // its own: the spool of the next, corrected start would be elsewhere, empty.
        return try withoutControlCharacters(name, v)
    }

    /// `v`, unless it holds a line break or another control character: such a value is a file's
    /// newline or a paste gone wrong, never a name (a path, a unix socket) anybody meant.
    public static func withoutControlCharacters(_ name: String, _ v: String) throws(ConfigError) -> String {
        guard v.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
            throw ConfigError(setting: name, message: "holds a line break or another control character (\(v.prefix(80).debugDescription)); give the value alone")
        }
        return v
    }
}

extension SettingRange {
    /// The parsed value, or an error naming `setting` and stating the range.
    public func parseOrThrow(_ setting: String, _ text: String) throws(ConfigError) -> Double {
        guard let d = parse(text) else { throw ConfigError(setting: setting, message: "expected \(expectation), got \"\(text)\"") }
        return d
    }
}

/// A table of settings for one command: loads the environment, then the flags (a flag wins).
public struct SettingsTable<Root>: Sendable {
    public let settings: [Setting<Root>]

    public init(_ settings: [Setting<Root>]) { self.settings = settings }

    /// The setting named `name` (a variable), if any.
    public subscript(name: String) -> Setting<Root>? { settings.first { $0.name == name } }

    /// Applies `environment`, then `arguments` (`--flag value` or `--flag=value`) onto `root`.
    /// Returns the secret-bearing flags used, so the caller can warn about them. Unknown flags are errors.
    public func load(into root: inout Root, environment: [String: String], arguments: [String], command: String) throws(ConfigError) -> [String] {
        for s in settings {
            if let v = environment[s.name] { try s.apply(v, to: &root) }
        }
        var secretFlags: [String] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            guard arg.hasPrefix("--") else { throw ConfigError(setting: command, message: "unexpected argument \"\(arg)\"") }
            var name = arg
            var value: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                value = String(arg[arg.index(after: eq)...])
            }
            guard let s = settings.first(where: { $0.flag == name }) else {
                throw ConfigError(setting: name, message: "unknown option (see hookhost \(command) --help)")
            }
            if value == nil {
                i += 1
                guard i < arguments.count else { throw ConfigError(setting: name, message: "needs a value") }
                value = arguments[i]
            }
            do { try s.apply(value!, to: &root) } catch {
                throw ConfigError(setting: "\(name) (\(s.name))", message: error.message)
            }
            if s.isSecret && !secretFlags.contains(name) { secretFlags.append(name) }
            i += 1
        }
        return secretFlags
    }
}
