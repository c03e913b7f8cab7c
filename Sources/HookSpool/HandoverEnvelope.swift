import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// One unfinished delivery as a draining replica hands it to a peer (`POST /hookhost/handover`):
/// its record — id, canonical type, body, arrival, how it was verified, what admission read from
/// it — and where it is in its life: attempts spent, the attempt history as the spool keeps it,
/// when it is due. The downloaded result file is not carried: the peer downloads it again.
/// Pure encoding (JSON, the body base64); `decode` validates everything a peer must not trust.
public struct HandoverEnvelope: Sendable, Equatable {
    public static let version = 1
    public var id: String
    public var type: String
    public var body: [UInt8]
    public var receivedAt: Double
    public var verifiedBy: VerifiedBy
    public var jwt: JWTIdentity?
    public var head: DeliveryHead
    /// The state on the leaving replica: received, retry_scheduled or fetched.
    public var state: DeliveryState
    public var attempt: Int
    public var attemptBase: Int
    /// When a retry is due (retry_scheduled).
    public var nextAt: Double?
    /// Since when its function answers "try again later" (exit 75), if it does.
    public var retryLaterSince: Double?
    public var function: String?
    public var lastError: String?
    /// The result downloaded on the leaving replica (metadata only: the file stays there).
    public var result: FetchedResult?
    /// How its attempts ended, oldest first (the state records the spool keeps: at most 20).
    public var history: [StateChange]
    public var from: Origin

    /// The replica a delivery comes from, for the history note on the peer.
    public struct Origin: Sendable, Equatable {
        public var name: String
        public var address: String
        public init(name: String, address: String) { self.name = name; self.address = address }
    }

    public init(id: String, type: String, body: [UInt8], receivedAt: Double, verifiedBy: VerifiedBy, jwt: JWTIdentity? = nil,
                head: DeliveryHead = DeliveryHead(), state: DeliveryState = .received, attempt: Int = 0, attemptBase: Int = 0,
                nextAt: Double? = nil, retryLaterSince: Double? = nil, function: String? = nil, lastError: String? = nil,
                result: FetchedResult? = nil, history: [StateChange] = [], from: Origin) {
        self.id = id; self.type = type; self.body = body; self.receivedAt = receivedAt; self.verifiedBy = verifiedBy; self.jwt = jwt
        self.head = head; self.state = state; self.attempt = attempt; self.attemptBase = attemptBase; self.nextAt = nextAt
        self.retryLaterSince = retryLaterSince; self.function = function; self.lastError = lastError; self.result = result
        self.history = history; self.from = from
    }

    /// The states a delivery can be handed over in: unfinished and not under way.
    public static let handedStates: Set<DeliveryState> = [.received, .retryScheduled, .fetched]

    /// The JSON document. Nested values that may be deep or odd (claims, user_metadata, a state
    /// record's output) travel as base64 text, so the envelope stays shallow, plain JSON.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(reserve: body.count * 4 / 3 + 512)
        w.beginObject()
        w.field("v", HandoverEnvelope.version)
        w.field("id", id); w.field("type", type)
        w.field("body", Base64.encode(body))
        w.key("received_at"); w.double(receivedAt)
        w.field("verified_by", verifiedBy.rawValue)
        if let jwt {
            w.key("jwt"); w.beginObject()
            w.field("kid", jwt.keyID); w.field("claims", Base64.encode(jwt.claims, urlSafe: true))
            w.endObject()
        }
        w.key("head"); w.beginObject()
        if let um = head.userMetadata { w.field("user_metadata", Base64.encode(um, urlSafe: true)) }
        if let job = head.job { w.field("job", job) }
        if let r = head.result { w.field("result", r) }
        if let c = head.chain {
            w.key("chain"); w.beginObject(); w.field("parent", c.parent); w.field("root", c.root); w.field("depth", c.depth); w.endObject()
        }
        w.endObject()
        w.field("state", state.rawValue)
        w.field("attempt", attempt); w.field("attempt_base", attemptBase)
        if let nextAt { w.key("next_at"); w.double(nextAt) }
        if let retryLaterSince { w.key("retry_later_since"); w.double(retryLaterSince) }
        if let function { w.field("function", function) }
        if let lastError { w.field("last_error", lastError) }
        if let r = result {
            w.key("result"); w.beginObject()
            w.field("uri", r.uri); w.field("path", r.path); w.field("bytes", r.bytes); w.field("sha256", r.sha256)
            if let ct = r.contentType { w.field("content_type", ct) }
            if let ms = r.fetchMs { w.field("fetch_ms", ms) }
            w.endObject()
        }
        w.key("history"); w.beginArray()
        for change in history {
            var m = JSONWriter()
            m.beginObject(); change.write(into: &m); m.endObject()
            w.string(Base64.encode(m.bytes, urlSafe: true))
        }
        w.endArray()
        w.key("from"); w.beginObject(); w.field("name", from.name); w.field("address", from.address); w.endObject()
        w.endObject()
        return w.bytes
    }

    /// The history line the peer records (its entry carries the time): who handed it over, and
    /// what must be done again.
    public var note: String { note(back: false) }

    /// The note when it comes back to the replica that handed it over earlier (`back`).
    public func note(back: Bool) -> String {
        var s = "\(back ? "handed back" : "handed over") from \(from.name)"
        if !from.address.isEmpty { s += " (\(from.address))" }
        if let r = result { s += "; its result \(r.uri) was downloaded there and is downloaded again here" }
        return s
    }
}

/// A hand-over the peer cannot take (answered 400): says which field and why.
public struct HandoverEnvelopeError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
