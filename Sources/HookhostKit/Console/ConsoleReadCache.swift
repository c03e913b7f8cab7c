import HookHTTP

/// The console's recent read answers, by request target, for half a second. Every open console
/// polls once a second, and the same view (the newest deliveries, the dead letters, the
/// functions) costs a scan of the spool's index under the lock deliveries are admitted under:
/// 50 consoles on the deliveries page were 50 scans a second, and on a 200 000-delivery spool
/// cut the acknowledgements from ~1900/s to ~90/s. Kept, they are one or two scans a second
/// whatever the number of consoles; a poll still sees a new delivery within 1.5 s. Pure: the
/// time is given.
struct ConsoleReadCache: Sendable {
    /// Below the page's poll interval (1 s), so a console's next poll never gets its last answer.
    static let maxAge = 0.5
    static let maxEntries = 32
    /// A larger answer (one delivery with a big body) is not kept: memory stays bounded
    /// (`maxEntries` × this) however many views are open.
    static let maxBytes = 256 << 10

    private var entries: [String: (at: Double, response: HTTPResponse)] = [:]

    /// Which reads are kept, under which key: all but the whole-output download (large, asked
    /// for by a click, not by a poll).
    static func key(_ read: ConsoleRoute.Read, _ request: HTTPRequest) -> String? {
        if case .output = read { return nil }
        return request.target
    }

    /// The answer kept for `key` if it is younger than `maxAge` (a clock set back counts as stale).
    func answer(_ key: String, now: Double) -> HTTPResponse? {
        guard let e = entries[key], now >= e.at, now - e.at < ConsoleReadCache.maxAge else { return nil }
        return e.response
    }

    /// Keeps a successful answer; errors are not kept (a delivery not there yet must show once it is).
    mutating func keep(_ key: String, _ response: HTTPResponse, now: Double) {
        guard response.status == 200, response.body.count <= ConsoleReadCache.maxBytes else { return }
        entries = entries.filter { now >= $0.value.at && now - $0.value.at < ConsoleReadCache.maxAge }
        if entries.count >= ConsoleReadCache.maxEntries, let oldest = entries.min(by: { $0.value.at < $1.value.at })?.key {
            entries[oldest] = nil
        }
        entries[key] = (now, response)
    }

    /// After an action: the next read shows what it changed.
    mutating func clear() { entries = [:] }

    var count: Int { entries.count }
}
