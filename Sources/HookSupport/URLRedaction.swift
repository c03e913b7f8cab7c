/// How a URL appears in logs, error reasons and status pages: without its query and fragment,
/// since signed URLs (GCS, S3, Veo's `video_uri`) carry their signature there, and without
/// user-info (`user:password@`). Pure; works on any text, parseable as a URL or not, so a
/// reference refused as malformed is redacted too.
public enum URLRedaction {
    /// `https://h/p?X-Goog-Signature=…` → `https://h/p`; text without `?`, `#` or `@` is unchanged.
    public static func withoutQuery(_ text: String) -> String {
        var s = Substring(text)
        if let cut = s.firstIndex(where: { $0 == "?" || $0 == "#" }) { s = s[..<cut] }
        // User-info sits between `scheme://` and the first `/` after it.
        guard let scheme = s.firstRange(of: "://") else { return String(s) }
        let authority = s[scheme.upperBound...].prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return String(s) }
        return String(s[..<scheme.upperBound]) + String(s[s.index(after: at)...])
    }
}
