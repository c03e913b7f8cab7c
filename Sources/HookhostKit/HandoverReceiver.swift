import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `POST /hookhost/handover` on the delivery listener: a draining replica hands one unfinished
/// delivery over. Verified with the peer secret (its own path: webhook secrets and JWTs never
/// admit a hand-over), validated, then stored like a delivery — durable before the 202, a known
/// id answered 200 duplicate — keeping `verified_by` as it was. Off (404) without a peer secret.
public final class HandoverReceiver: Sendable {
    public static let path = "/hookhost/handover"
    /// The largest envelope of a delivery of up to `maxBody` bytes: its body in base64 (a third
    /// more) and room for the rest — its history (up to 20 attempts with their error texts,
    /// stderr tails and outputs), head and JWT claims. A delivery whose history is larger than
    /// that (large outputs of exit-75 runs) is refused with 413 and stays on the leaver.
    public static func maxEnvelopeBytes(maxBody: Int) -> Int { (maxBody + 2) / 3 * 4 + (1 << 20) }
    private let secret: PeerSecret?
    /// This host's `HOOKHOST_MAX_BODY`: a delivery larger than it would not be taken from a sender either.
    private let maxBodyBytes: Int
    private let tolerance: Double
    private let clock: any WallClock
    private let adopt: @Sendable (HandoverEnvelope, @escaping @Sendable (AdmitResult) -> Void) -> Void
    private let metrics: Metrics
    private let logger: Logger

    public init(secret: PeerSecret?, tolerance: Double = 300, clock: any WallClock = SystemClock(), maxBodyBytes: Int = .max,
                metrics: Metrics, logger: Logger,
                adopt: @escaping @Sendable (HandoverEnvelope, @escaping @Sendable (AdmitResult) -> Void) -> Void) {
        self.secret = secret
        self.maxBodyBytes = maxBodyBytes
        self.tolerance = tolerance
        self.clock = clock
        self.adopt = adopt
        self.metrics = metrics
        self.logger = logger
        metrics.describe("hookhost_handover_total", "Deliveries handed over between replicas by direction (sent, received) and outcome.")
        for outcome in ["accepted", "duplicate", "unauthorized", "invalid", "unavailable"] {
            metrics.add("hookhost_handover_total", labels: [("direction", "received"), ("outcome", outcome)], 0)
        }
    }

    /// Answers one hand-over; `draining`: this host is draining itself (503, the sender retries
    /// or tries another replica).
    public func respond(to request: HTTPRequest, reply: HTTPReply, draining: Bool) {
        let respond = reply.send
        guard let secret else {
            return respond(.error(404, "hand-over is off on this host (HOOKHOST_PEER_SECRET is not set)"))
        }
        guard request.method == "POST" else { return respond(.error(405, "use POST to hand a delivery over", headers: [("Allow", "POST")])) }
        let id = request.header(WebhookHeader.id)
        for name in [WebhookHeader.id, PeerHeader.timestamp, PeerHeader.signature]
        where request.headers.lazy.filter({ $0.name == name }).count > 1 {
            return refuse(respond, id, "\(name) header appears more than once", peer: request.peer)
        }
        do {
            try PeerSignature.verify(secret: secret, id: id, timestamp: request.header(PeerHeader.timestamp),
                                     signature: request.header(PeerHeader.signature), body: request.body, now: clock.now(), tolerance: tolerance)
        } catch {
            return refuse(respond, id, error.description, peer: request.peer)
        }
        guard !draining else {
            count("unavailable")
            return respond(.error(503, "draining; hand over to another replica or retry later", headers: [("Retry-After", "5")]))
        }
        let envelope: HandoverEnvelope
        do { envelope = try HandoverEnvelope.decode(request.body) } catch {
            return invalid(respond, id, error.message)
        }
        guard envelope.id == id else { return invalid(respond, id, "webhook-id differs from the envelope's id") }
        guard envelope.body.count <= maxBodyBytes else {
            return invalid(respond, id, "the delivery's body of \(envelope.body.count) bytes exceeds this host's HOOKHOST_MAX_BODY (\(maxBodyBytes))", status: 413)
        }
        let from = envelope.from.name
        adopt(envelope) { [self] result in
            // Usually on the spool's writer between two fdatasyncs: only hand the answer over.
            reply.onLoop { [self] in answered(result, envelope.id, from: from, respond) }
        }
    }

    private func answered(_ result: AdmitResult, _ id: String, from: String, _ respond: @Sendable (HTTPResponse) -> Void) {
        switch result {
        case .accepted:
            respond(.json(202, HandoverReceiver.status(["status": "accepted"], id)))
            count("accepted")
            logger.info("handed over: received", ["id": .string(id), "from": .string(from)])
        case .duplicate:
            respond(.json(200, HandoverReceiver.status(["status": "duplicate"], id, duplicate: true)))
            count("duplicate")
            logger.info("handed over: duplicate", ["id": .string(id), "from": .string(from)])
        case .unavailable(let why):
            count("unavailable")
            logger.warn("hand-over not stored", ["id": .string(id), "reason": .string(why)])
            respond(.error(503, why, headers: [("Retry-After", "5")]))
        }
    }

    private func count(_ outcome: String) {
        metrics.add("hookhost_handover_total", labels: [("direction", "received"), ("outcome", outcome)])
    }

    /// Logged with the peer's address and why, never the secret or the signature.
    private func refuse(_ respond: @Sendable (HTTPResponse) -> Void, _ id: String?, _ why: String, peer: String?) {
        count("unauthorized")
        logger.warn("hand-over refused", ["id": .string(String((id ?? "").prefix(80))), "reason": .string(why), "peer": .string(peer ?? "unknown")])
        respond(.error(401, why))
    }

    private func invalid(_ respond: @Sendable (HTTPResponse) -> Void, _ id: String?, _ why: String, status: Int = 400) {
        count("invalid")
        logger.warn("hand-over invalid", ["id": .string(String((id ?? "").prefix(80))), "reason": .string(why)])
        respond(.error(status, why))
    }

    static func status(_ fields: KeyValuePairs<String, String>, _ id: String, duplicate: Bool = false) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        for (k, v) in fields { w.field(k, v) }
        w.field("id", id)
        if duplicate { w.field("duplicate", true) }
        w.endObject()
        return w.bytes
    }
}
