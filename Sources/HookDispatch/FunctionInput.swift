import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Builds the one JSON document a function reads on stdin (CONTRACT §4).
public enum FunctionInput {
    /// Where an event's user_metadata is: `data.user_metadata`, then top-level `user_metadata`.
    /// Returns its raw bytes (ranges are absolute in `body`) so the function gets them as sent.
    public static func userMetadata(body: [UInt8], parsed: JSON) -> ArraySlice<UInt8>? {
        DeliveryHead.userMetadataRange(in: parsed).map { body[$0] }
    }

    /// The stdin bytes, compact, ending with a newline. `jwt` adds `delivery.key_id` and
    /// `delivery.claims` (JWT deliveries only).
    /// `chain` adds `delivery.parent`, `delivery.root` and `delivery.depth` (emitted events only).
    public static func encode(id: String, attempt: Int, receivedAt: Double, verifiedBy: VerifiedBy, jwt: JWTIdentity? = nil,
                              chain: DeliveryHead.Chain? = nil,
                              type: String, body: [UInt8], userMetadata: ArraySlice<UInt8>?, result: FetchedResult?) -> [UInt8] {
        var w = JSONWriter(reserve: body.count + 256)
        w.beginObject()
        w.field("contract", 1)
        w.key("delivery")
        w.beginObject()
        w.field("id", id)
        w.field("attempt", attempt)
        w.field("received_at", formatTimestamp(receivedAt))
        w.field("verified_by", verifiedBy.rawValue)
        if let jwt {
            w.field("key_id", jwt.keyID)
            // Verified to be one JSON object when the delivery was admitted.
            w.key("claims"); w.raw(trimmingJSONWhitespace(jwt.claims))
        }
        if let chain {
            w.field("parent", chain.parent); w.field("root", chain.root); w.field("depth", chain.depth)
        }
        w.endObject()
        w.field("type", type)
        // The JSON value byte for byte; whitespace around it is not part of it and a trailing
        // newline would split the one-line document.
        w.key("event"); w.raw(trimmingJSONWhitespace(body))
        w.key("user_metadata"); if let userMetadata { w.raw(userMetadata) } else { w.null() }
        w.key("result")
        if let r = result {
            w.beginObject()
            w.field("uri", r.uri); w.field("path", r.path); w.field("bytes", r.bytes); w.field("sha256", r.sha256)
            w.field("content_type", optional: r.contentType)
            w.endObject()
        } else {
            w.null()
        }
        w.endObject()
        var out = w.bytes
        out.append(0x0A)
        return out
    }
}

/// `bytes` without leading and trailing JSON whitespace (space, tab, CR, LF).
func trimmingJSONWhitespace(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
    let ws: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    guard let first = bytes.firstIndex(where: { !ws($0) }), let last = bytes.lastIndex(where: { !ws($0) }) else { return [] }
    return bytes[first...last]
}
