import Dispatch
import Synchronization
import HookSupport
import HookHTTP

/// Serves the operator console under `/console/` on one listener and hands every other request
/// to the listener's own responder unchanged. Checks who may read and act (`ConsoleAccess`),
/// sets the security headers on every answer, and does the spool work off the event loop, with
/// a bound on how much may wait: many open consoles must not queue up work without end.
public final class ConsoleEndpoint: HTTPResponder {
    private let inner: any HTTPResponder
    private let api: ConsoleAPI
    private let access: ConsoleAccess
    private let logger: Logger
    private let clock: any WallClock
    private let wrongTokenLog = Mutex(RateLimitedLog(interval: 10))
    private let waiting = Atomic<Int>(0)
    private let cache = Mutex(ConsoleReadCache())
    /// Console requests being answered or queued at once; more get 503 with Retry-After.
    static let maxWaiting = 32
    /// One queue for every listener's console: reads of a 200 000-delivery spool are one scan
    /// each, and they must not take more than one core from the workers.
    private static let queue = DispatchQueue(label: "hookhost.console")

    init(inner: any HTTPResponder, api: ConsoleAPI, access: ConsoleAccess, logger: Logger, clock: any WallClock) {
        self.inner = inner
        self.api = api
        self.access = access
        self.logger = logger
        self.clock = clock
    }

    public func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
        self.respond(to: request, reply: HTTPReply(send: respond))
    }

    public func respond(to request: HTTPRequest, reply: HTTPReply) {
        guard ConsoleRoute.owns(request.path) else { return inner.respond(to: request, reply: reply) }
        let send = reply.send
        switch ConsoleRoute.of(method: request.method, path: request.path) {
        case .redirect:
            send(ConsoleHeaders.secured(HTTPResponse(status: 301, headers: [("Location", ConsoleRoute.prefix + "/")])))
        case .asset(let name):
            send(ConsoleHeaders.secured(ConsoleAssets.response(name)))
        case .notFound:
            send(ConsoleHeaders.secured(.error(404, "no such console page or API: \(request.path.prefix(200))")))
        case .methodNotAllowed(let allow):
            send(ConsoleHeaders.secured(.error(405, "use \(allow)", headers: [("Allow", allow)])))
        case .read(let read):
            guard admitted(access.checkRead(request), request, send) else { return }
            let key = ConsoleReadCache.key(read, request)
            // A kept answer is sent from here, without queueing: many consoles polling one view
            // neither wait behind each other nor fill the queue up to 503s.
            if let key, let kept = cache.withLock({ $0.answer(key, now: clock.now()) }) { return send(ConsoleHeaders.secured(kept)) }
            work(send) { [self] in
                if let key, let kept = cache.withLock({ $0.answer(key, now: clock.now()) }) { return kept }
                let answer = api.answer(read, request)
                if let key { cache.withLock { $0.keep(key, answer, now: clock.now()) } }
                return answer
            }
        case .action(let action):
            guard admitted(access.checkAction(request), request, send) else { return }
            work(send) { [self] in
                let answer = api.answer(action, request)
                cache.withLock { $0.clear() }
                logger.info("console action", ["action": .string(ConsoleAPI.describe(action)), "status": .int(answer.status),
                                               "peer": .string(request.peer ?? "unknown")])
                return answer
            }
        }
    }

    public func refused(_ error: HTTPParseError) { inner.refused(error) }

    /// Answers a refusal (and logs a wrong token, at most once per 10 s with how many were not
    /// logged: a flood of guesses must not flood the log); true when the request may go on.
    private func admitted(_ verdict: ConsoleAccess.Verdict, _ request: HTTPRequest, _ send: @Sendable (HTTPResponse) -> Void) -> Bool {
        guard case .refused(let status, let message, let wrongToken) = verdict else { return true }
        if wrongToken, let suppressed = wrongTokenLog.withLock({ $0.shouldLog(now: clock.now()) }) {
            logger.warn("console: wrong admin token", ["peer": .string(request.peer ?? "unknown"), "path": .string(String(request.path.prefix(200))),
                                                       "suppressed": .int(suppressed)])
        }
        let headers: [(String, String)] = status == 401 ? [("WWW-Authenticate", "Bearer realm=\"hookhost console\"")] : []
        send(ConsoleHeaders.secured(.error(status, message, headers: headers)))
        return false
    }

    private func work(_ send: @escaping @Sendable (HTTPResponse) -> Void, _ body: @escaping @Sendable () -> HTTPResponse) {
        guard waiting.add(1, ordering: .relaxed).newValue <= ConsoleEndpoint.maxWaiting else {
            waiting.subtract(1, ordering: .relaxed)
            return send(ConsoleHeaders.secured(.error(503, "the console is busy; retry shortly", headers: [("Retry-After", "1")])))
        }
        ConsoleEndpoint.queue.async { [self] in
            let started = monotonicNow()
            let answer = body()
            // The queue rests before its next work (a timer resumes it; nothing sleeps), so
            // scans back to back cannot keep deliveries from the spool's lock.
            let rest = ConsolePacing.rest(after: monotonicNow() - started)
            if rest > 0 {
                ConsoleEndpoint.queue.suspend()
                DispatchQueue.global().asyncAfter(deadline: .now() + rest) { ConsoleEndpoint.queue.resume() }
            }
            waiting.subtract(1, ordering: .relaxed)
            send(ConsoleHeaders.secured(answer))
        }
    }
}

/// The headers every console answer carries: the page runs only its own script and style, talks
/// only to its own origin, cannot be framed, and leaks no URL to other sites.
public enum ConsoleHeaders {
    public static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    public static let all: [(String, String)] = [
        ("Content-Security-Policy", contentSecurityPolicy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]

    /// `r` with the security headers and, unless it set its own, `Cache-Control: no-store`
    /// (the data is live and may be sensitive).
    public static func secured(_ r: HTTPResponse) -> HTTPResponse {
        var r = r
        r.headers += all
        if !r.headers.contains(where: { $0.0.lowercased() == "cache-control" }) { r.headers.append(("Cache-Control", "no-store")) }
        return r
    }
}
