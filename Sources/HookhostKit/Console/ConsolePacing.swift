/// How long the console's queue rests after a piece of work. Reads of a large spool scan its
/// index under the lock deliveries are admitted under; back to back (consoles with filters of
/// their own, which share no kept answer) they left admission a sliver of the time: 50 consoles
/// each with its own filter over 200 000 deliveries cut acknowledgements from ~1960/s to ~170/s.
/// Resting six times as long as the work took keeps the console to a seventh of the time
/// whatever it is asked (three times, a quarter, still cost deliveries a fifth of their rate);
/// past that it queues, then answers 503. Pure.
enum ConsolePacing {
    /// Work shorter than this (status, samples, a small spool) is not worth a rest.
    static let free = 0.002
    static let factor = 6.0
    /// However long one scan took, the console is not held back longer than this.
    static let maxRest = 2.0

    static func rest(after elapsed: Double) -> Double {
        guard elapsed.isFinite, elapsed >= free else { return 0 }
        return min(elapsed * factor, maxRest)
    }
}
