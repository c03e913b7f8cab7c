import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// Which deliveries an operator means: by state, type (and its family), the function of their
/// last attempt, and when they arrived. `list`, `replay` and `purge` all select with it, so a dry
/// run lists exactly what the real one then acts on. Pure.
public struct DeliveryFilter: Sendable, Equatable {
    public var state: DeliveryState?
    /// The type itself and its family: `batch` matches `batch` and every `batch.*`.
    public var type: String?
    /// The function its last attempt ran (or was to run); a delivery that never got that far has none.
    public var function: String?
    /// Received at or after (seconds since the epoch).
    public var since: Double?
    /// Received before (seconds since the epoch).
    public var until: Double?

    public init(state: DeliveryState? = nil, type: String? = nil, function: String? = nil, since: Double? = nil, until: Double? = nil) {
        self.state = state; self.type = type; self.function = function; self.since = since; self.until = until
    }

    public func matches(_ d: DeliveryInfo) -> Bool {
        if let state, d.state != state { return false }
        if let type, !EventType.type(d.type, matches: type) { return false }
        if let function, d.function != function { return false }
        if let since, d.receivedAt < since { return false }
        if let until, d.receivedAt >= until { return false }
        return true
    }
}

extension DeliveryQueries {
    /// The deliveries `filter` selects, oldest first (the index narrows by state and type; the
    /// rest is decided here).
    public func list(_ filter: DeliveryFilter) -> [DeliveryInfo] {
        let narrowed = list(state: filter.state, type: filter.type)
        guard filter.function != nil || filter.since != nil || filter.until != nil else { return narrowed }
        return narrowed.filter(filter.matches)
    }
}
