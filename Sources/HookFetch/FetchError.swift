import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// Why a result could not be fetched. Each case says whether retrying can help (`isFinal`) and
/// gives an operator a reason to act on. URLs in reasons are redacted (`URLRedaction`: no query
/// string, which is where signed URLs carry their signature).
public enum FetchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The event's reference is not a form hookhost knows (PROTOCOL §5). Final.
    case invalidReference(String, why: String)
    /// The URL, or a redirect, points at a host that is not allowed; it was never requested. Final.
    case hostNotAllowed(host: String, viaRedirect: Bool)
    /// A redirect without a usable http(s) `Location`. Final.
    case badRedirect(location: String)
    /// More redirects than the limit. Final.
    case tooManyRedirects(limit: Int)
    /// 404 or 410: the file is gone (Files API files are kept 48 h). Final.
    case notFound(status: Int, url: String)
    /// 401 or 403. `credential` is what was sent to that host. Final.
    case accessDenied(status: Int, url: String, credential: Credential, configured: Bool)
    /// Another 4xx the request will not outlive. Final.
    case rejected(status: Int, url: String)
    /// 429; `retryAfter` is the server's `Retry-After` in seconds, when it sent one. Transient.
    case rateLimited(retryAfter: Double?)
    /// 5xx or 408. Transient.
    case serverError(status: Int, retryAfter: Double?)
    /// Connect, TLS, reset, timeout or a broken transfer (after any resumes). Transient.
    case network(String)
    /// The result is larger than the configured maximum. Final.
    case tooLarge(limit: Int)
    /// The result and the safety margin need more than the whole filesystem of the results
    /// directory holds: no wait for free space can help. Final (more space, then replay).
    case exceedsDisk(needed: Int, total: Int)
    /// Free disk space is below the expected size plus the safety margin; nothing was written.
    /// Transient, and the host's shortage, not the delivery's (`isHostShortage`).
    case insufficientSpace(needed: Int, available: Int)
    /// The disk filled (ENOSPC, EDQUOT) while saving: which operation on which path. Transient, and
    /// the host's shortage (`isHostShortage`).
    case diskFull(String)
    /// A credential the request needs is not configured (names the setting). Final.
    case missingCredential(setting: String)
    /// Local I/O failed (which operation, which path, errno text). Transient.
    case local(String)

    /// True when retrying the same request cannot succeed: dead-letter with `reason`.
    public var isFinal: Bool {
        switch self {
        case .rateLimited, .serverError, .network, .insufficientSpace, .diskFull, .local: false
        default: true
        }
    }

    /// The host, not the delivery, is short of something (disk): retry without spending an attempt.
    public var isHostShortage: Bool {
        switch self {
        case .insufficientSpace, .diskFull: true
        default: false
        }
    }

    /// A failed local file operation: `.diskFull` when the disk is full, else `.local`.
    static func io(_ what: String, errno code: Int32) -> FetchError {
        let message = "\(what): \(String(cString: strerror(code)))"
        return code == ENOSPC || code == EDQUOT ? .diskFull(message) : .local(message)
    }

    /// The server's requested delay before the next attempt, when it gave one.
    public var retryAfter: Double? {
        switch self {
        case .rateLimited(let d), .serverError(_, let d): d
        default: nil
        }
    }

    /// A reference or URL as a reason shows it: redacted, and cut short (it comes from the event
    /// or a redirect, up to a whole body long, and the reason is kept with the delivery and listed).
    package static func shown(_ text: String) -> String {
        let r = URLRedaction.withoutQuery(text)
        return r.count > 200 ? r.prefix(200) + "…" : r
    }

    /// What an operator reads in the dead letter or the log.
    public var reason: String {
        switch self {
        case .invalidReference(let r, let why): "result reference \"\(FetchError.shown(r))\" is not usable: \(why)"
        case .hostNotAllowed(let h, let redirect):
            "\(redirect ? "redirect to" : "result URL on") host \(FetchError.shown(h)), which is not allowed; it was not requested (allow it with HOOKHOST_FETCH_HOSTS)"
        case .badRedirect(let l): "redirect to an unusable location \"\(FetchError.shown(l))\""
        case .tooManyRedirects(let n): "more than \(n) redirects"
        case .notFound(let s, let u): "HTTP \(s): file not found or expired (files are kept 48 h): \(FetchError.shown(u))"
        case .accessDenied(let s, let u, let c, let configured):
            switch c {
            case .apiKey: configured ? "API key rejected (401/403): HTTP \(s) from \(FetchError.shown(u))"
                : "HTTP \(s) from \(FetchError.shown(u)) and no API key is configured (GEMINI_API_KEY)"
            case .gcsToken: "GCS token rejected (401/403): HTTP \(s) from \(FetchError.shown(u)); check HOOKHOST_GCS_TOKEN_FILE"
            case .none: "HTTP \(s) from \(FetchError.shown(u)), a host hookhost sends no credential to"
            }
        case .rejected(let s, let u): "HTTP \(s) from \(FetchError.shown(u))"
        case .rateLimited(let d): "rate limited (429)" + (d.map { ", retry after \(Int($0)) s" } ?? "")
        case .serverError(let s, _): "server error (HTTP \(s))"
        case .network(let m): "network: \(m)"
        case .tooLarge(let n): "result larger than the \(n)-byte limit"
        case .exceedsDisk(let need, let total):
            "result needs \(need) bytes with the margin kept free for the spool, more than its filesystem holds in all (\(total) bytes); give the results directory more space, then replay"
        case .insufficientSpace(let need, let avail): "not enough disk space: need \(need) bytes, \(avail) available"
        case .diskFull(let m): "disk full: \(m)"
        case .missingCredential(let s): "\(s) is not set, and this result needs it"
        case .local(let m): m
        }
    }

    public var description: String { reason }
}
