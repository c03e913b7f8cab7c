import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// The starts of one rate limit (a function's, or one key's): a sliding window, so at most
/// `limit` runs start in any `per` seconds. Pure: time is passed in.
///
/// Memory stays small whatever the limit: starts less than `per / slices` apart share a slice
/// that counts them all as starting at its latest one. That only ever counts a start later than
/// it happened — it leaves the window later, never earlier — so the bound holds exactly.
///
/// A start counts for `per` and one slice more (`hold`): the host sees a process start, the
/// function's first own act (its clock reading, its API call) comes a little later, and by a
/// different little for each run. The extra slice (1/64 of the period: 16 ms of a second)
/// keeps the starts the functions see, not only the ones the host made, within the limit.
///
/// A run counts from the moment it is granted (`take`, pending) — before its process exists, so
/// two grants never share a place — until `per` after it started (`started`). One that never
/// starts (`abandon`) frees its place.
struct RateWindow {
    private struct Slice {
        var opened: Double
        var latest: Double
        var count: Int
    }

    static let slices = 64

    /// How long a start counts: `per` and one slice.
    static func hold(_ per: Double) -> Double { per + per / Double(slices) }

    private var items: [Slice] = []
    private var head = 0
    /// Starts inside the window (the slices' counts).
    private(set) var counted = 0
    /// Granted, not started yet.
    private(set) var pending = 0

    /// Drops the slices whose starts are all `hold(per)` or more ago.
    mutating func expire(now: Double, per: Double) {
        while head < items.count, items[head].latest + RateWindow.hold(per) <= now {
            counted -= items[head].count
            head += 1
        }
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 32 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    /// Whether one more run may be granted at `now`.
    mutating func hasRoom(now: Double, limit: Int, per: Double) -> Bool {
        expire(now: now, per: per)
        return counted + pending < limit
    }

    /// A run granted: it holds a place until it starts (or is abandoned).
    mutating func take() { pending += 1 }

    /// The granted run started at `at`; it counts until `at + hold(per)` at least.
    mutating func started(at: Double, per: Double) {
        pending = max(0, pending - 1)
        counted += 1
        if head < items.count, at < items[items.count - 1].opened + per / Double(RateWindow.slices) {
            items[items.count - 1].count += 1
            items[items.count - 1].latest = max(items[items.count - 1].latest, at)
        } else {
            // Never earlier than the slice before: slices leave the window in order.
            let latest = head < items.count ? max(at, items[items.count - 1].latest) : at
            items.append(Slice(opened: at, latest: latest, count: 1))
        }
    }

    /// The granted run never started: its place is free again.
    mutating func abandon() { pending = max(0, pending - 1) }

    /// When the oldest start leaves the window (a place frees then); nil when none is counted —
    /// then only pending runs fill it, and their start or abandonment is what changes anything.
    func nextExpiry(per: Double) -> Double? {
        head < items.count ? items[head].latest + RateWindow.hold(per) : nil
    }

    /// When every start counted now has left the window.
    func emptyAt(per: Double) -> Double? {
        head < items.count ? items[items.count - 1].latest + RateWindow.hold(per) : nil
    }

    /// Nothing pending and nothing counted (as of the last `expire`).
    var isEmpty: Bool { pending == 0 && counted == 0 }

    /// Slices held (tests check the memory bound).
    var sliceCount: Int { items.count - head }
}
