import HookSupport
import HookNet
import HookHTTP
/// JWKS cache settings.
public struct JWKSCacheConfig: Sendable {
    /// Seconds between two fetches triggered by unknown `kid`s (`HOOKHOST_JWKS_MIN_REFRESH`).
    public var minRefresh: Double = 10
    /// Floor and ceiling on how long a fetched JWKS is trusted as current (`max-age` is clamped).
    public var minLifetime: Double = 60
    public var maxLifetime: Double = 86_400
    /// Lifetime when the source gives no `max-age`.
    public var defaultLifetime: Double = 3600
    /// Deliveries that may wait for a fetch at once; more get 503.
    public var maxWaiters = 1000
    /// Ceiling of the backoff between retries of a failing source.
    public var maxRetryDelay: Double = 300

    public init(minRefresh: Double = 10) { self.minRefresh = minRefresh }
}

/// The JWKS cache's decisions, without threads or I/O (tested with a hand-moved clock): which
/// keys are current, when to fetch, and what an unknown `kid` gets.
struct JWKSState: Sendable {
    var keys: [String: RSAPublicKey] = [:]
    /// When the last good JWKS was fetched; nil: never.
    var loadedAt: Double?
    var lifetime: Double = 0
    /// When the last fetch (good or not) started.
    var lastFetchAt: Double?
    var fetching = false
    /// A fetch was asked for (an unknown kid, SIGHUP) and has not started yet.
    var wanted = false
    /// Failed fetches in a row; the keys of the last good fetch stay in use meanwhile.
    var failures = 0
    var lastError: String?
    var lastFailureAt: Double?

    enum Lookup: Sendable {
        case found(RSAPublicKey)
        /// Wait for the fetch that is running or was just asked for.
        case wait
        /// Refused without fetching (rate limit); the text says why.
        case unknown(String)
    }

    /// A key by id; on a miss, asks for a fetch at most once per `minRefresh`.
    mutating func lookup(_ kid: String, now: Double, _ c: JWKSCacheConfig) -> Lookup {
        if let k = keys[kid] { return .found(k) }
        if fetching || wanted { return .wait }
        if let last = lastFetchAt, now - last < c.minRefresh {
            if let lastError { return .unknown("the JWKS could not be fetched: \(lastError)") }
            return .unknown("not in the JWKS fetched \(Int(now - last)) s ago; refetched at most every \(formatSeconds(c.minRefresh)) s")
        }
        wanted = true
        return .wait
    }

    /// When the background refresher should fetch next; nil: only on demand (never tried yet).
    /// A failing source is retried with backoff even when it never answered: a host without
    /// HMAC secrets is not ready until it has keys, so no delivery may come to ask for them.
    func nextFetchAt(_ c: JWKSCacheConfig) -> Double? {
        if wanted { return -.infinity }
        if failures > 0, let at = lastFailureAt { return at + retryDelay(c) }
        guard let loadedAt else { return nil }
        // Before expiry, so deliveries never wait for a routine refresh.
        return loadedAt + lifetime * 0.8
    }

    /// Backoff after `failures` failed fetches: from max(minRefresh, 5 s), doubling, capped.
    func retryDelay(_ c: JWKSCacheConfig) -> Double {
        let base = max(c.minRefresh, 5)
        return min(c.maxRetryDelay, base * Double(1 << min(failures - 1, 16)))
    }

    mutating func begin(now: Double) {
        fetching = true
        wanted = false
        lastFetchAt = now
    }

    mutating func succeeded(_ set: JWKSet, maxAge: Double?, now: Double, _ c: JWKSCacheConfig) {
        keys = set.keys
        loadedAt = now
        lifetime = min(c.maxLifetime, max(c.minLifetime, maxAge ?? c.defaultLifetime))
        failures = 0
        lastError = nil
        fetching = false
    }

    mutating func failed(_ error: String, now: Double) {
        failures += 1
        lastError = error
        lastFailureAt = now
        fetching = false
    }

    /// Why a kid is still unknown after a fetch finished.
    var missDetail: String {
        if let lastError { return "the JWKS could not be fetched: \(lastError)" }
        return "not in the JWKS just fetched"
    }
}

func formatSeconds(_ s: Double) -> String { s.rounded() == s && abs(s) < 1e15 ? String(Int(s)) : String(s) }
