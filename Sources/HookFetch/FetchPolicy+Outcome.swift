import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// How an HTTP answer to a result download is classified (CONTRACT §5): 2xx is success, 3xx is
/// followed by the fetcher, everything else becomes a `FetchError` that says whether to retry.
extension FetchPolicy {
    /// The error for a non-2xx, non-redirect status. `retryAfter` is the raw header value;
    /// `credential` is what was sent with this hop (it decides the 401/403 reason).
    public static func classify(status: Int, retryAfter: String?, url: FetchURL, credential: Credential,
                                credentialConfigured: Bool, now: Double) -> FetchError {
        let delay = retryAfter.flatMap { retryAfterSeconds($0, now: now) }
        switch status {
        case 404, 410: return .notFound(status: status, url: url.redacted)
        case 401, 403: return .accessDenied(status: status, url: url.redacted, credential: credential, configured: credentialConfigured)
        case 429: return .rateLimited(retryAfter: delay)
        case 408, 500...599: return .serverError(status: status, retryAfter: delay)
        default: return .rejected(status: status, url: url.redacted)
        }
    }

    /// Statuses that carry a `Location` the fetcher follows itself.
    public static func isRedirect(_ status: Int) -> Bool { [301, 302, 303, 307, 308].contains(status) }

    /// `Retry-After` as seconds from `now`: delta-seconds or an IMF-fixdate (RFC 9110 §10.2.3).
    /// A date in the past is 0; anything else unparseable is nil.
    public static func retryAfterSeconds(_ value: String, now: Double) -> Double? {
        let v = value.trimmingSpaces
        if !v.isEmpty, v.allSatisfy({ $0.isASCII && $0.isNumber }) { return Double(v) }
        guard let t = parseIMFDate(v) else { return nil }
        return max(0, t - now)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` → Unix seconds.
    static func parseIMFDate(_ s: String) -> Double? {
        let parts = s.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let month = months.firstIndex(of: String(parts[2])) else { return nil }
        let hms = parts[4].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3, (1...31).contains(day), (0...23).contains(hms[0]), (0...59).contains(hms[1]), (0...60).contains(hms[2]) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = Int32(year - 1900); tm.tm_mon = Int32(month); tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(hms[0]); tm.tm_min = Int32(hms[1]); tm.tm_sec = Int32(hms[2])
        return Double(timegm(&tm))
    }
}
