import HookSupport
import HookNet
import HookHTTP
/// The `kid` rule: 1–128 characters of `A-Z a-z 0-9 . _ -`, not starting with a dot. A kid is
/// logged, handed to functions and may end up in file names, so path characters never pass.
public enum KeyID {
    public static let maxLength = 128

    /// Whether `kid` follows the rule.
    public static func isSafe(_ kid: String) -> Bool {
        let u = kid.utf8
        guard !u.isEmpty, u.count <= maxLength, u.first != UInt8(ascii: ".") else { return false }
        return u.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}
