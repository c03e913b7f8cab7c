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
