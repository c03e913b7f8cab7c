// In Support because HTTP (the Connection header), App (settings) and Verify (secrets) all trim
// the same way, and none of them may depend on another for it.
extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and line breaks.
    package var trimmingSpaces: String {
        // "\r\n" is one Character in Swift, equal to neither "\n" nor "\r".
        let ws: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !ws($0) }), let last = lastIndex(where: { !ws($0) }) else { return "" }
        return String(self[first...last])
    }
}
