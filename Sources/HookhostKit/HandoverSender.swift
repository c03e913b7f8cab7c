import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Sends deliveries to a peer (`POST /hookhost/handover`), several requests at once so the peer's
/// spool stores many per disk sync, and marks each one handed over only after the peer's 202 (or
/// 200 duplicate: it has it already). A failure (no connection, 5xx) is retried a few times,
/// then counted and the delivery stays here; 401/403/404 (wrong or missing peer secret, a peer
/// without hand-over) stop every sender at once: nothing more is sent or removed.
final class HandoverSender: @unchecked Sendable {  // safe: every `var` is only touched under `monitor`
    static let concurrency = 16
    /// Delays before the second, third and fourth try of one delivery.
    static let backoff: [Double] = [0.25, 1, 2]

    private let url: FetchURL
    private let secret: PeerSecret
    private let spool: Spool
    private let origin: HandoverEnvelope.Origin
    private let logger: Logger
    private let metrics: Metrics
    private let monitor = Monitor()
    private var queue: [String] = []
    private var next = 0
    private var queued: Set<String> = []
    private var busy = 0
    private var closing = false
    private var threads: [ThreadHandle] = []
    /// Why the hand-over stopped early (the peer refused, failed too often, the time ran out).
    var refusal: String? { monitor.locked { refusalValue } }
    private var refusalValue: String?
    /// Deliveries failed in a row: a peer that fails this many is not coming back soon, and
    /// trying every delivery four times would keep the drain going for hours.
    private var failedInARow = 0
    static let maxFailedInARow = 64
    private var handedOver = 0
    private var failed = 0
    private var lastFailure: String?

    enum Outcome: Equatable {
        case handedOver(duplicate: Bool)
        /// The peer will not take any (its secret differs, or it takes no hand-overs).
        case refused(String)
        case failed(String)
        /// No longer waiting here (finished, purged meanwhile): nothing to send.
        case gone
    }

    init(url: FetchURL, secret: PeerSecret, spool: Spool, origin: HandoverEnvelope.Origin, logger: Logger, metrics: Metrics) {
        self.url = url
        self.secret = secret
        self.spool = spool
        self.origin = origin
        self.logger = logger
        self.metrics = metrics
        let started = (0..<HandoverSender.concurrency).map { i in startThread(name: "handover-\(i)") { [self] in work() } }
        monitor.locked { threads = started }
    }

    /// Queues ids not queued before; returns how many were new.
    @discardableResult
    func enqueue(_ ids: [String]) -> Int {
        monitor.locked {
            var n = 0
            for id in ids where queued.insert(id).inserted { queue.append(id); n += 1 }
            monitor.broadcast()
            return n
        }
    }

    /// (queued or being sent, handed over, failed, the last failure's reason)
    var counts: (pending: Int, handedOver: Int, failed: Int, lastFailure: String?) {
        monitor.locked { (queue.count - next + busy, handedOver, failed, lastFailure) }
    }

    /// Waits until everything queued was sent (or the peer refused, or `deadline` —
    /// `monotonicNow()` — passed: then what is not sent stays), then stops the threads.
    func finish(by deadline: Double? = nil) {
        monitor.locked {
            while (next < queue.count && refusalValue == nil) || busy > 0 {
                if let deadline, monotonicNow() >= deadline {
                    if refusalValue == nil { refusalValue = "the time ran out (HOOKHOST_SHUTDOWN_GRACE)" }
                    monitor.broadcast()
                    if busy == 0 { break }
                }
                monitor.wait(seconds: deadline.map { max(0.1, min(1, $0 - monotonicNow())) } ?? 1)
            }
            closing = true
            monitor.broadcast()
        }
        for t in monitor.locked({ threads }) { t.join() }
    }

    private func take() -> String? {
        monitor.locked {
            while true {
                if refusalValue != nil || (closing && next >= queue.count) { return nil }
                if next < queue.count {
                    let id = queue[next]
                    next += 1
                    busy += 1
                    return id
                }
                monitor.wait(seconds: 1)
            }
        }
    }

    private func work() {
        // One connection per sender, kept alive across its deliveries.
        let session = HTTPSession()
        while let id = take() {
            let outcome = send(id, session: session)
            monitor.locked {
                busy -= 1
                switch outcome {
                case .handedOver:
                    handedOver += 1
                    failedInARow = 0
                case .refused(let why):
                    if refusalValue == nil { refusalValue = why }
                    failed += 1
                case .failed(let why):
                    failed += 1
                    lastFailure = why
                    failedInARow += 1
                    if failedInARow >= HandoverSender.maxFailedInARow && refusalValue == nil {
                        refusalValue = "\(failedInARow) deliveries in a row could not be handed over (last: \(why)); stopped"
                    }
                case .gone: break
                }
                monitor.broadcast()
            }
            count(outcome, id: id)
        }
    }

    private func count(_ outcome: Outcome, id: String) {
        let name: String
        switch outcome {
        case .handedOver(let duplicate): name = duplicate ? "duplicate" : "accepted"
        case .refused(let why):
            name = "refused"
            logger.error("hand-over refused by the peer: stopping the hand-over", ["id": .string(id), "peer": .string(url.redacted), "reason": .string(why)])
        case .failed(let why):
            name = "failed"
            logger.warn("hand-over failed: the delivery stays here", ["id": .string(id), "peer": .string(url.redacted), "reason": .string(why)])
        case .gone: return
        }
        metrics.add("hookhost_handover_total", labels: [("direction", "sent"), ("outcome", name)])
    }

    /// One delivery: read, sign, post, retry while it may help, mark.
    func send(_ id: String, session: HTTPSession?) -> Outcome {
        guard let envelope = spool.handoverEnvelope(id, from: origin) else { return .gone }
        let body = envelope.encoded()
        var last = "not sent"
        for attempt in 0...HandoverSender.backoff.count {
            if attempt > 0 && !pause(HandoverSender.backoff[attempt - 1]) { return .failed("stopped: \(refusal ?? "")") }
            let timestamp = String(Int(spool.clock.now()))
            var req = ClientRequest(method: "POST", url: url.string)
            req.headers = PeerSignature.headers(secret: secret, id: id, timestamp: timestamp, body: body) + [("Content-Type", "application/json")]
            req.body = body
            req.timeout = 60
            req.connectTimeout = 5
            req.maxResponseBytes = 64 << 10
            let response: ClientResponse
            do { response = try session.map { s throws(ClientError) in try s.perform(req) } ?? HTTPClient.perform(req) } catch {
                last = "\(error)"
                continue
            }
            let why = HandoverSender.reason(response)
            switch response.status {
            case 200, 202:
                guard spool.markHandedOver(id, note: "handed over to \(url.redacted)") else {
                    return .failed("the peer has it, but it could not be marked handed over here (the next drain sends it again; the peer answers duplicate)")
                }
                return .handedOver(duplicate: response.status == 200)
            case 401, 403:
                let hint = why.contains("HOOKHOST_PEER_SECRET") ? "" : " (check HOOKHOST_PEER_SECRET on both replicas)"
                return .refused("the peer answered \(response.status): \(why)\(hint)")
            case 404:
                return .refused("the peer answered 404: \(why) (is it a hookhost with HOOKHOST_PEER_SECRET set?)")
            case 400, 413:
                return .failed("the peer refused it (\(response.status)): \(why)")
            default:
                last = "the peer answered \(response.status): \(why)"
            }
        }
        return .failed(last)
    }

    /// Waits `seconds` unless the peer refused meanwhile (false then).
    private func pause(_ seconds: Double) -> Bool {
        let until = monotonicNow() + seconds
        return monitor.locked {
            while refusalValue == nil, case let left = until - monotonicNow(), left > 0 { monitor.wait(seconds: left) }
            return refusalValue == nil
        }
    }

    /// The error a hookhost answer names (`{"error":…}`), else the start of the body.
    static func reason(_ r: ClientResponse) -> String {
        if let e = (try? JSONParser.parse(r.body))?["error"]?.stringValue { return e }
        return String(r.bodyText.prefix(200))
    }
}
