import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch
/// What each `hookhost serve` setting is for and what it is when unset, read from the one settings
/// table (`HostConfig.table`) so `serve --help` and docs/reference.md cannot drift from the code.
public struct SettingDoc: Sendable, Equatable {
    /// The default as shown to operators (`0.0.0.0:8080`, `number of cores`, `—` for none).
    public let defaultText: String
    /// One line: what it does.
    public let meaning: String
}

extension HostConfig {
    /// Documentation of every setting, by variable name.
    public static var documentation: [String: SettingDoc] {
        let defaults = HostConfig()
        return Dictionary(uniqueKeysWithValues: table.settings.map { ($0.name, SettingDoc(defaultText: $0.defaultText(defaults), meaning: $0.meaning)) })
    }

    /// The documented range of a setting, as the reference writes it (nil: not numeric).
    public static func rangeText(_ name: String) -> String? { table[name]?.rangeText }

    /// One row of the settings table in docs/reference.md, generated so the test can compare.
    public static func referenceRow(_ name: String) -> String {
        let doc = documentation[name]
        let def = doc.map { $0.defaultText == "—" ? "—" : "`\($0.defaultText)`" } ?? "?"
        return "| `\(name)` | `\(flag(for: name))` | \(def) | \(rangeText(name) ?? "") | \(doc?.meaning ?? "?") |"
    }

    /// The whole settings table, in `settings` order (`hookhost serve --help-reference` prints it).
    public static var referenceTable: String {
        (["| variable | flag | default | range | meaning |", "|---|---|---|---|---|"] + settingNames.map(referenceRow))
            .joined(separator: "\n")
    }
}
