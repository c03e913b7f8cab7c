import Foundation
import HookEvent

/// What is known about one interaction: its latest status and the deliveries that said so.
struct InteractionRecord: Codable, Equatable {
    /// One delivery seen for this interaction.
    struct Seen: Codable, Equatable {
        var delivery: String
        var status: String
        var timestamp: String
    }

    var interaction: String
    /// `completed`, `requires_action`, `failed`, `cancelled`, … (the event type without `interaction.`).
    var status: String
    /// The event time of the status (RFC 3339); the delivery's `received_at` when the event has none.
    var updatedAt: String
    var errorCode: String?
    var errorMessage: String?
    var userMetadata: [String: JSONValue]?
    /// Oldest first, at most `maxSeen`, each delivery once.
    var deliveries: [Seen]

    static let maxSeen = 50

    enum CodingKeys: String, CodingKey {
        case interaction, status, deliveries
        case updatedAt = "updated_at"
        case errorCode = "error_code"
        case errorMessage = "error_message"
        case userMetadata = "user_metadata"
    }

    /// A first record from one event.
    init(_ event: InteractionEvent) {
        interaction = event.interaction
        status = event.status
        updatedAt = event.timestamp
        errorCode = event.errorCode
        errorMessage = event.errorMessage
        userMetadata = event.userMetadata
        deliveries = [Seen(delivery: event.delivery, status: event.status, timestamp: event.timestamp)]
    }

    /// Folds in `event`. Deliveries come at least once and in any order (retries, parallel
    /// workers), so the status only moves to a newer event — on a tie, a final status
    /// (`completed`, `failed`, `cancelled`) wins over `requires_action` — and a delivery already
    /// seen changes nothing.
    mutating func apply(_ event: InteractionEvent) {
        guard !deliveries.contains(where: { $0.delivery == event.delivery }) else { return }
        deliveries.append(Seen(delivery: event.delivery, status: event.status, timestamp: event.timestamp))
        if deliveries.count > Self.maxSeen { deliveries.removeFirst(deliveries.count - Self.maxSeen) }
        let order = EventTime.compare(event.timestamp, updatedAt)
        let newer = order == .orderedDescending
            || (order == .orderedSame && Self.isFinal(event.status) && !Self.isFinal(status))
        guard newer else { return }
        status = event.status
        updatedAt = event.timestamp
        errorCode = event.errorCode
        errorMessage = event.errorMessage
        if let metadata = event.userMetadata { userMetadata = metadata }
    }

    static func isFinal(_ status: String) -> Bool { ["completed", "failed", "cancelled"].contains(status) }
}

/// The parts of an `interaction.*` delivery the record needs.
struct InteractionEvent {
    var interaction: String
    var status: String
    var timestamp: String
    var delivery: String
    var errorCode: String?
    var errorMessage: String?
    var userMetadata: [String: JSONValue]?

    /// `nil` when the event has no `data.id` (nothing to record it under).
    init?(_ input: HookInput) {
        guard let id = input.event.data.id, !id.isEmpty else { return nil }
        interaction = id.hasPrefix("interactions/") ? id : "interactions/" + id
        status = input.type.hasPrefix("interaction.") ? String(input.type.dropFirst("interaction.".count)) : input.type
        timestamp = input.event.timestamp.flatMap { EventTime.parse($0) == nil ? nil : $0 } ?? input.delivery.receivedAt
        delivery = input.delivery.id
        errorCode = input.event.data.errorCode
        errorMessage = input.event.data.errorMessage
        userMetadata = input.metadata
    }
}

/// RFC 3339 times compared as instants (`…12:00:00Z` and `…14:00:00+02:00` are the same; a
/// fraction is optional), not as text.
enum EventTime {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Unparseable times sort first, so a readable time always wins over them.
    static func compare(_ a: String, _ b: String) -> ComparisonResult {
        switch (parse(a), parse(b)) {
        case let (x?, y?): return x == y ? .orderedSame : (x < y ? .orderedAscending : .orderedDescending)
        case (nil, nil): return .orderedSame
        case (nil, _): return .orderedAscending
        case (_, nil): return .orderedDescending
        }
    }
}
