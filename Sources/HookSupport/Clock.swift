import Glibc

/// Wall-clock time source, injectable so verification windows and retry schedules can be tested.
public protocol WallClock: Sendable {
    /// Seconds since the Unix epoch.
    func now() -> Double
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A clock that always answers the same instant (tests).
public struct FixedClock: WallClock {
    public let time: Double
    public init(_ time: Double) { self.time = time }
    public func now() -> Double { time }
}

/// Monotonic seconds, for timeouts and durations (never goes backwards).
public func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Formats Unix seconds as RFC 3339 UTC with milliseconds: `2026-05-04T12:00:01.123Z`.
public func formatTimestamp(_ t: Double) -> String {
    // Round to the nearest millisecond first: binary doubles make .123 read as .12299….
    let totalMs = Int64((t * 1000).rounded())
    var secs = time_t(totalMs / 1000)
    let ms = Int(totalMs % 1000)
    var tm = Glibc.tm()
    gmtime_r(&secs, &tm)
    func pad(_ v: Int32, _ w: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, w - s.count)) + s
    }
    return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
        + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
}
