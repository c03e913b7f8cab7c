/// A configuration problem: the setting at fault and what is wrong with it. `hookhost` exits 2.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public let setting: String
    public let message: String
    public init(setting: String, message: String) { self.setting = setting; self.message = message }
    public var description: String { "\(setting): \(message)" }
}
