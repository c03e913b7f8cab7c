/// Decides whether a repetitive log line (a refused connection, EMFILE) may be written now: at
/// most one per `interval`, carrying how many were suppressed since the last one, so a flood
/// cannot turn the log into the bottleneck.
public struct RateLimitedLog: Sendable {
    public let interval: Double
    private var lastAt = -Double.infinity
    private var suppressed = 0

    public init(interval: Double) { self.interval = interval }

    /// Nil: stay quiet. Otherwise log, with the returned number of lines suppressed since the last.
    public mutating func shouldLog(now: Double) -> Int? {
        // A clock set back (the console's wrong-token line reads the wall clock) must not keep
        // it quiet until the clock catches up again: a day back was a day of silence.
        guard now - lastAt >= interval || now < lastAt else {
            suppressed += 1
            return nil
        }
        lastAt = now
        defer { suppressed = 0 }
        return suppressed
    }
}
