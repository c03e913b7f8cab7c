import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The public HTTP surface (CONTRACT §3): verifies, validates and spools deliveries, and serves
/// health, readiness and metrics. Every error becomes an HTTP answer here and nowhere else.
public final class DeliveryEndpoint: HTTPResponder {
    private let path: String
    private let authenticator: any Authenticator
    private let spool: any DeliveryStorage
    private let metrics: Metrics
    /// hookhost_deliveries_total by outcome: counted on every request.
    private let outcomes: IndexedCounter
    private let logger: Logger
    private let functionsReady: @Sendable () -> Bool
    private let jwksStatus: @Sendable () -> JWKSStatus?
    /// Why no delivery can verify (no secrets, no keys), if so: readiness fails with it.
    private let verificationProblem: @Sendable () -> String?
    /// Why deliveries are refused, if they are (`Stop`'s raw value; 0: taking them).
    private let draining = Atomic<UInt8>(0)
    /// Which surface this listener serves: with `HOOKHOST_ADMIN_LISTEN` the public listener
    /// answers deliveries only and the admin one the probes and metrics only (others get 404).
    public enum Surface: Sendable { case all, deliveriesOnly, probesOnly }
    private let surface: Surface
    /// `POST /hookhost/handover`: deliveries a draining replica hands over (nil: 404).
    private let handover: HandoverReceiver?

    public static let maxIDLength = 256

    public init(path: String, authenticator: any Authenticator, spool: any DeliveryStorage, metrics: Metrics, logger: Logger,
                functionsReady: @escaping @Sendable () -> Bool, jwksStatus: @escaping @Sendable () -> JWKSStatus? = { nil },
                verificationProblem: @escaping @Sendable () -> String? = { nil }, surface: Surface = .all, handover: HandoverReceiver? = nil) {
        self.surface = surface
        self.handover = handover
        self.path = path
        self.authenticator = authenticator
        self.spool = spool
        self.metrics = metrics
        metrics.describe("hookhost_deliveries_total", "Answers to webhook deliveries by outcome (accepted, duplicate, unauthorized, invalid, too_large, unavailable).")
        self.outcomes = metrics.indexedCounter("hookhost_deliveries_total", label: "outcome",
                                               values: ["accepted", "duplicate", "unauthorized", "invalid", "too_large", "unavailable"])
        self.logger = logger
        self.functionsReady = functionsReady
        self.jwksStatus = jwksStatus
        self.verificationProblem = verificationProblem
    }

    /// Why a host stops taking deliveries: a drain (`hookhost drain`) leaves it running; a
    /// SIGTERM (possibly after a drain) ends it. The 503s and `/readyz` say which.
    public enum Stop: UInt8, Sendable {
        case drain = 1, shutdown = 2
        var reason: String { self == .drain ? "draining" : "shutting down" }
    }

    /// From now on deliveries get 503 and readiness fails; a shutdown outranks a drain.
    public func startDraining(_ stop: Stop = .shutdown) {
        _ = draining.bitwiseOr(stop.rawValue, ordering: .relaxed)
    }

    /// Why deliveries are refused now; nil while they are taken.
    var stopping: Stop? {
        let v = draining.load(ordering: .relaxed)
        return v == 0 ? nil : v & Stop.shutdown.rawValue != 0 ? .shutdown : .drain
    }

    public func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
        self.respond(to: request, reply: HTTPReply(send: respond))
    }

    public func respond(to request: HTTPRequest, reply: HTTPReply) {
        let respond = reply.send
        let isProbe = request.path == "/healthz" || request.path == "/readyz" || request.path == "/metrics"
        if isProbe ? surface == .deliveriesOnly : surface == .probesOnly {
            return respond(.error(404, "no such endpoint on this listener"))
        }
        if isProbe && request.method != "GET" && request.method != "HEAD" {
            return respond(.error(405, "use GET", headers: [("Allow", "GET, HEAD")]))
        }
        switch request.path {
        case path:
            guard request.method == "POST" else {
                return respond(.error(405, "use POST to deliver webhooks", headers: [("Allow", "POST")]))
            }
            receive(request, reply)
        case HandoverReceiver.path where handover != nil:
            handover?.respond(to: request, reply: reply, draining: stopping != nil)
        case "/healthz":
            respond(.json(200, Array(#"{"status":"ok"}"#.utf8)))
        case "/readyz":
            let problems = readinessProblems()
            if problems.isEmpty { respond(.json(200, readyBody())) } else {
                respond(.error(503, problems.joined(separator: "; ")))
            }
        case "/metrics":
            respond(.text(200, metrics.render(), contentType: "text/plain; version=0.0.4"))
        default:
            respond(.error(404, "no such endpoint; deliveries go to POST \(path)"))
        }
    }

    public func refused(_ error: HTTPParseError) {
        if error.status == 413 { outcomes.add("too_large") }
    }

    /// `{"status":"ready"}`, with the JWKS's state: JWT deliveries with known keys verify even
    /// while the JWKS cannot be fetched, so that is a detail, not unreadiness.
    private func readyBody() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("status", "ready")
        if let j = jwksStatus() {
            w.key("jwks"); w.beginObject()
            w.field("source", j.location)
            w.field("state", j.stateName)
            w.field("keys", j.keys)
            w.key("age_s"); if let a = j.age { w.int(Int(a)) } else { w.null() }
            w.field("error", optional: j.lastError)
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    /// Why the host is not ready (`/readyz` 503, `hookhost status`); empty when it is.
    public func readinessProblems() -> [String] {
        var p: [String] = []
        if let stopping { p.append(stopping.reason) }
        if !spool.isWritable { p.append("spool is not writable") }
        if !functionsReady() { p.append("functions directory missing") }
        if let v = verificationProblem() { p.append(v) }
        return p
    }

    private func receive(_ request: HTTPRequest, _ reply: HTTPReply) {
        let respond = reply.send
        let id = request.header(WebhookHeader.id)
        for name in [WebhookHeader.id, WebhookHeader.timestamp, WebhookHeader.signature]
        where request.headers.lazy.filter({ $0.name == name }).count > 1 {
            // Ambiguous: a load balancer hashing on one copy and us verifying another must not happen.
            return unauthorized(respond, id, "\(name) header appears more than once", peer: request.peer)
        }
        let peer = request.peer
        // Parsed at most once, by a JWT check that binds the body or else by admission.
        let body = ParsedBody(request.body)
        let message = WebhookMessage(id: id, timestamp: request.header(WebhookHeader.timestamp),
                                     signature: request.header(WebhookHeader.signature), parsedBody: body)
        // A JWT whose key must be fetched answers later, from the fetcher's thread.
        authenticator.authenticate(message) { [self] result in
            switch result {
            case .success(let delivery): admit(delivery, body, reply)
            case .failure(let error): refuse(respond, id, error, peer: peer)
            }
        }
    }

    private func admit(_ delivery: VerifiedDelivery, _ parsedBody: ParsedBody, _ reply: HTTPReply) {
        let body = parsedBody.bytes
        let respond = reply.send
        let id_ = delivery.id
        guard id_.utf8.count <= DeliveryEndpoint.maxIDLength else {
            return invalid(respond, id_, "webhook-id longer than \(DeliveryEndpoint.maxIDLength) bytes")
        }
        guard !EmitFile.isChildID(id_) else {
            return invalid(respond, id_, "webhook-id ending in ~e<number> or ~d<number> is reserved for events emitted by functions and the host")
        }
        // A sender using one would keep `hookhost reconcile` from recovering that job's event.
        guard !id_.hasPrefix(ReconcileEvent.idPrefix) else {
            return invalid(respond, id_, "webhook-id starting with \(ReconcileEvent.idPrefix) is reserved for events hookhost reconcile synthesizes")
        }
        // A redelivery of a remembered id needs no parsing: the answer is the same whatever it carries.
        if spool.remembers(id_) { return duplicate(respond, id_, type: nil) }
        let event: JSON
        switch parsedBody.json {
        case .success(let e): event = e
        case .failure(let error): return invalid(respond, id_, "body is not JSON: \(error)")
        }
        guard event.isObject else { return invalid(respond, id_, "body is not a JSON object") }
        guard let sent = event["type"]?.stringValue else { return invalid(respond, id_, "body has no string \"type\"") }
        // Stored canonical: nothing after admission canonicalises again.
        let type = EventType.canonical(sent)
        guard EventType.isValid(type) else {
            return invalid(respond, id_, "event type is not a plain dotted name of at most \(EventType.maxLength) bytes")
        }
        guard !DeadLetterEvents.isHostEvent(type) else {
            return invalid(respond, id_, "event type \(type) is the host's own (hookhost.*); no sender may use it")
        }
        let head = DeliveryHead.derive(type: type, event: event, body: body)
        if let stopping {
            outcomes.add("unavailable")
            return respond(.error(503, "\(stopping.reason); retry later", headers: [("Retry-After", "5")]))
        }
        spool.admit(id: id_, type: type, verifiedBy: delivery.verifiedBy, jwt: delivery.jwt, head: head, body: body) { [self] result in
            // Usually called on the spool's writer, between two fdatasyncs: it only hands the
            // outcome to the connection's loop, which answers, counts and logs it.
            reply.onLoop { [self] in admitted(result, delivery, type: type, job: head.job, bytes: body.count, respond) }
        }
    }

    /// On the connection's loop: answers the outcome of an admission, counts and logs it.
    private func admitted(_ result: AdmitResult, _ delivery: VerifiedDelivery, type: String, job: String?, bytes: Int,
                          _ respond: @Sendable (HTTPResponse) -> Void) {
        let id = delivery.id
        switch result {
        case .accepted:
            // The answer first: the client waits for it, not for the log line.
            respond(.json(202, DeliveryEndpoint.status("accepted", id)))
            outcomes.add("accepted")
            logger.info("received", ["id": .string(id), "type": .string(type), "bytes": .int(bytes),
                                      "verified_by": .string(delivery.verifiedBy.rawValue)])
        case .duplicate:
            if let recovered = spool.jobDuplicate(type: type, job: job, verifiedBy: delivery.verifiedBy), !recovered.isEmpty {
                // Answered like any duplicate: Gemini stops retrying, and the function does not run twice.
                outcomes.add("duplicate")
                logger.info("duplicate: already recovered by reconcile as \(recovered)", ["id": .string(id), "type": .string(type),
                                                                                         "job": .string(job ?? ""), "recovered_as": .string(recovered)])
                return respond(.json(200, DeliveryEndpoint.status("duplicate", id)))
            }
            duplicate(respond, id, type: type)
        case .unavailable(let why):
            outcomes.add("unavailable")
            logger.warn("unavailable", ["id": .string(id), "reason": .string(why)])
            respond(.error(503, why, headers: [("Retry-After", "10")]))
        }
    }

    private func duplicate(_ respond: @Sendable (HTTPResponse) -> Void, _ id: String, type: String?) {
        outcomes.add("duplicate")
        if let type { logger.info("duplicate", ["id": .string(id), "type": .string(type)]) } else { logger.info("duplicate", ["id": .string(id)]) }
        respond(.json(200, DeliveryEndpoint.status("duplicate", id)))
    }

    /// Logged with the peer address: a flood of these from one address is someone probing, from
    /// the sender's addresses a secret out of step.
    private func unauthorized(_ respond: @Sendable (HTTPResponse) -> Void, _ id: String?, _ why: String, peer: String?) {
        outcomes.add("unauthorized")
        logger.warn("unauthorized", ["id": .string(String((id ?? "").prefix(80))), "reason": .string(why), "peer": .string(peer ?? "unknown")])
        respond(.error(401, why))
    }

    /// A failed authentication: 401, or 503 when the key fetcher is overloaded.
    private func refuse(_ respond: @Sendable (HTTPResponse) -> Void, _ id: String?, _ error: AuthenticationError, peer: String?) {
        guard error.status == 401 else {
            outcomes.add("unavailable")
            logger.warn("unavailable", ["id": .string(String((id ?? "").prefix(80))), "reason": .string(error.description)])
            return respond(.error(error.status, error.description, headers: [("Retry-After", "5")]))
        }
        unauthorized(respond, id, error.description, peer: peer)
    }

    private func invalid(_ respond: @Sendable (HTTPResponse) -> Void, _ id: String, _ why: String) {
        outcomes.add("invalid")
        logger.warn("invalid", ["id": .string(String(id.prefix(80))), "reason": .string(why)])
        respond(.error(400, why))
    }

    static func status(_ s: String, _ id: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject(); w.field("status", s); w.field("id", id); w.endObject()
        return w.bytes
    }
}
