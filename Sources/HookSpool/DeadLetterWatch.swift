import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// Asked, as a delivery becomes a dead letter, for the event that reports it (`hookhost.dead`);
/// the store commits that event in the same durable write as the dead state, so a crash keeps
/// both or neither. Nil: no event (nothing takes it, or the dead one is such an event itself).
public protocol DeadLetterWatch: AnyObject, Sendable {
    func deadEvent(for delivery: DeliveryInfo, change: StateChange) -> ChildDelivery?
}

extension DeadLetterWatch {
    /// The event to commit with `change` for `delivery`: one when the change makes it a dead
    /// letter (not when it is dead already), none otherwise. Both stores ask through this.
    func events(for delivery: DeliveryInfo, change: StateChange) -> [ChildDelivery] {
        guard change.state == .dead, delivery.state != .dead, let e = deadEvent(for: delivery, change: change) else { return [] }
        return [e]
    }
}
