import HookSupport

/// How far back `hookhost reconcile` looks: `--since` and `HOOKHOST_RECONCILE_WINDOW`.
public enum ReconcileWindow {
    /// 48 h: Gemini retries a delivery for 24 h, so a job older than that whose event never came
    /// was missed for good; twice that covers a host down over a weekend night.
    public static let defaultSeconds: Double = 48 * 3600
    /// A year: far longer than any job's results are kept (48 h), short of absurd.
    public static let maxSeconds: Double = 365 * 86_400

    /// `90s`, `30m`, `48h`, `2d`, or bare seconds; digits and at most one point (not `1e999`,
    /// `0x10`, `+5`), more than 0 and at most a year.
    public static func parse(_ text: String) -> Result<Double, ConfigError> {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text), unit = 1.0
        if let u = text.last, let f = units[u] { number = text.dropLast(); unit = f }
        let parts = number.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let decimal = !number.isEmpty && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard decimal, let v = Double(number), (v * unit).isFinite else {
            return .failure(ConfigError(setting: "window", message: "expected a duration like 30m, 48h or 2d, got \"\(text)\""))
        }
        let seconds = v * unit
        guard seconds > 0, seconds <= maxSeconds else {
            return .failure(ConfigError(setting: "window", message: "\"\(text)\" is out of range: more than 0 and at most 365d"))
        }
        return .success(seconds)
    }
}
