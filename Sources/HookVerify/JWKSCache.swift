import Synchronization
import HookSupport
import HookNet
import HookHTTP

/// What `/readyz` and `/metrics` say about the keys.
public struct JWKSStatus: Sendable {
    public let location: String
    public let keys: Int
    /// Seconds since the last good fetch; nil: never fetched.
    public let age: Double?
    /// The last fetch failed; the keys of the last good one are still used.
    public let failing: Bool
    public let lastError: String?
}

/// The keys for JWT deliveries, from a `JWKSSource`, kept fresh by a background thread. A lookup
/// never blocks: a known kid answers at once; an unknown one waits for at most one fetch (rate
/// limited by `minRefresh`) that runs on the refresher thread, which then calls back.
public final class JWKSCache: Service {
    private struct Waiter {
        let kid: String
        let completion: @Sendable (Result<RSAPublicKey, AuthenticationError>) -> Void
    }

    public let source: any JWKSSource
    private let config: JWKSCacheConfig
    private let clock: any WallClock
    private let logger: Logger
    private let metrics: Metrics?
    private let state: Mutex<(JWKSState, [Waiter])> = Mutex((JWKSState(), []))
    /// Set when the host starts draining: why a lookup that would wait for a fetch is refused.
    private let drainReason = Mutex<String?>(nil)
    /// The refresher: wakes when the next fetch is due, or when a lookup or reload asks for one.
    private let loop = Mutex<BackgroundLoop?>(nil)

    public init(source: any JWKSSource, config: JWKSCacheConfig, clock: any WallClock = SystemClock(), logger: Logger, metrics: Metrics? = nil) {
        self.source = source
        self.config = config
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        metrics?.describe("hookhost_jwks_fetches_total", "JWKS fetches by outcome (ok, error).")
        metrics?.add("hookhost_jwks_fetches_total", labels: [("outcome", "ok")], 0)
        metrics?.add("hookhost_jwks_fetches_total", labels: [("outcome", "error")], 0)
    }

    /// The key for `kid`: at once when cached, else after the next fetch (on the refresher's thread).
    public func key(for kid: String, completion: @escaping @Sendable (Result<RSAPublicKey, AuthenticationError>) -> Void) {
        let now = clock.now()
        let draining = drainReason.withLock { $0 }
        var refusal = "too many deliveries are waiting for the JWKS; retry later"
        let decision = state.withLock { s -> JWKSState.Lookup? in
            let d = s.0.lookup(kid, now: now, config)
            guard case .wait = d else { return d }
            if let draining { refusal = draining; return nil }
            guard s.1.count < config.maxWaiters else { return nil }
            s.1.append(Waiter(kid: kid, completion: completion))
            return d
        }
        switch decision {
        case .found(let k)?: completion(.success(k))
        case .unknown(let why)?: completion(.failure(.jwt(.unknownKeyID(kid, detail: why))))
        case .wait?: loop.withLock { $0 }?.poke()
        case nil: completion(.failure(.busy(refusal)))
        }
    }

    /// Fetches once, now, on the calling thread (start-up with a JWKS file: a bad file is a
    /// configuration error there).
    public func loadNow() throws(JWKSFetchError) {
        refresh()
        if let e = state.withLock({ $0.0.loadedAt == nil ? $0.0.lastError : nil }) { throw JWKSFetchError(e) }
    }

    /// Asks for a fetch now (SIGHUP), whatever the rate limit.
    public func reload() {
        state.withLock { $0.0.wanted = true }
        loop.withLock { $0 }?.poke()
    }

    public var status: JWKSStatus {
        let now = clock.now()
        return state.withLock { s in
            JWKSStatus(location: source.location, keys: s.0.keys.count, age: s.0.loadedAt.map { now - $0 },
                       failing: s.0.failures > 0, lastError: s.0.lastError)
        }
    }

    /// Starts the refresher thread.
    public func start() {
        let l = BackgroundLoop(name: "jwks-refresh", every: { [self] in
            // Until the next fetch is due, or the next look at a polled source.
            let now = clock.now()
            var next = state.withLock { $0.0.nextFetchAt(config) } ?? .infinity
            if let poll = source.pollInterval { next = min(next, now + poll) }
            return min(next - now, 3600)
        }) { [self] _ in
            let due = state.withLock { ($0.0.nextFetchAt(config) ?? .infinity) <= clock.now() }
            let polledChange = !due && source.pollInterval != nil && state.withLock({ $0.0.loadedAt != nil }) && source.changed()
            if due || polledChange { refresh() }
        }
        loop.withLock { $0 = l }
        l.start()
    }

    /// Stops the refresher and waits for it; deliveries still waiting are refused.
    public func stop() {
        loop.withLock { $0 }?.stop()
        refuseWaiters("shutting down")
    }

    /// At the start of a drain: deliveries waiting for a fetch, and from now on any that would
    /// wait for one, are answered `why` (a 503: the sender retries) at once — a fetch can take
    /// longer than the HTTP server waits for owed answers, and a connection closed without one
    /// tells the sender nothing. Known kids still answer (a redelivery is still a duplicate).
    public func startDraining(_ why: String) {
        drainReason.withLock { $0 = why }
        refuseWaiters(why)
    }

    /// Answers every delivery waiting for a fetch with `why` (a 503), now.
    private func refuseWaiters(_ why: String) {
        let left = state.withLock { s -> [Waiter] in defer { s.1 = [] }; return s.1 }
        for w in left { w.completion(.failure(.busy(why))) }
    }

    /// One fetch: applies the result, then answers every waiter (outside the lock).
    private func refresh() {
        let proceed = state.withLock { s -> Bool in
            guard !s.0.fetching else { return false }
            s.0.begin(now: clock.now())
            return true
        }
        guard proceed else { return }
        let result: Result<(JWKSet, Double?), JWKSFetchError>
        do {
            let doc = try source.fetch()
            do { result = .success((try JWKSet.parse(doc.bytes), doc.maxAge)) } catch { result = .failure(JWKSFetchError(error.message)) }
        } catch {
            result = .failure(error)
        }
        let now = clock.now()
        let (waiters, before, st) = state.withLock { s -> ([Waiter], Set<String>, JWKSState) in
            let before = Set(s.0.keys.keys)
            switch result {
            case .success(let (set, maxAge)): s.0.succeeded(set, maxAge: maxAge, now: now, config)
            case .failure(let e): s.0.failed(e.message, now: now)
            }
            defer { s.1 = [] }
            return (s.1, before, s.0)
        }
        switch result {
        case .success(let (set, _)):
            metrics?.add("hookhost_jwks_fetches_total", labels: [("outcome", "ok")])
            if Set(set.keys.keys) != before {
                logger.info("jwks loaded", ["source": .string(source.location), "kids": .string(set.keys.keys.sorted().joined(separator: ",")),
                                            "valid_s": .double(st.lifetime)])
            }
            for why in set.skipped { logger.warn("jwks: key skipped", ["source": .string(source.location), "reason": .string(why)]) }
        case .failure(let e):
            metrics?.add("hookhost_jwks_fetches_total", labels: [("outcome", "error")])
            logger.warn("jwks fetch failed; keeping the previous keys", ["source": .string(source.location), "error": .string(e.message),
                                                                          "keys": .int(st.keys.count), "failures": .int(st.failures)])
        }
        for w in waiters {
            if let k = st.keys[w.kid] { w.completion(.success(k)) } else {
                w.completion(.failure(.jwt(.unknownKeyID(w.kid, detail: st.missDetail))))
            }
        }
    }
}
