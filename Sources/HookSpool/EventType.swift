import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// Rules for event-type names, which become file names in the functions directory.
public enum EventType {
    public static let maxLength = 128

    /// A plain dotted name: segments of `[A-Za-z0-9_-]`, separated by single dots, no leading or
    /// trailing dot. Anything else (slashes, `..`, NUL, spaces) never reaches the filesystem.
    public static func isValid(_ type: String) -> Bool {
        let b = Array(type.utf8)
        guard !b.isEmpty, b.count <= maxLength else { return false }
        var previousDot = true  // so a leading dot is rejected
        for c in b {
            if c == UInt8(ascii: ".") {
                if previousDot { return false }
                previousDot = true
                continue
            }
            let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
            guard ok else { return false }
            previousDot = false
        }
        return !previousDot
    }

    /// Whether a stored (canonical) type is `given` or in its family. Types are stored canonical: the legacy name a filter may use means the same type.
    public static func type(_ type: String, matches given: String) -> Bool {
        let filter = EventType.canonical(given)
        return type == filter || (type.utf8.count > filter.utf8.count && type.hasPrefix(filter) && type.utf8.dropFirst(filter.utf8.count).first == UInt8(ascii: "."))
    }

    /// The type handlers see: legacy `batch.completed` is `batch.succeeded`.
    public static func canonical(_ type: String) -> String {
        type == "batch.completed" ? "batch.succeeded" : type
    }

    /// The event types Gemini sends (`batch.completed` is the legacy name of `batch.succeeded`).
    public static let gemini = ["batch.succeeded", "batch.completed", "batch.failed", "batch.cancelled", "batch.expired",
                                "interaction.requires_action", "interaction.completed", "interaction.failed",
                                "interaction.cancelled", "video.generated"]

    /// Names to try, in order: exact, family (text before the first dot), `_default`.
    public static func candidates(_ type: String) -> [String] {
        var out = [type]
        if let dot = type.firstIndex(of: ".") { out.append(String(type[..<dot])) }
        out.append("_default")
        return out
    }
}
