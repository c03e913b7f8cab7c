import Synchronization
import HookSupport
import HookNet
import HookHTTP

/// Gemini's JWT claims are not documented (PROTOCOL §7): the first time a set of claim names is
/// seen it is logged at debug level (names only, never values), so the shape can be learned
/// from real deliveries.
final class ClaimShapes: Sendable {
    private let seen = Mutex<Set<String>>([])
    private let logger: Logger
    /// Enough for every real shape; a flood of invented ones cannot grow memory or the log.
    static let maxShapes = 64

    init(logger: Logger) { self.logger = logger }

    func observe(_ claims: JSON, keyID: String) {
        guard logger.enabled(.debug), case .object(let members) = claims else { return }
        let shape = members.map { String($0.key.prefix(64)) }.sorted().joined(separator: ",")
        let isNew = seen.withLock { s -> Bool in
            guard s.count < ClaimShapes.maxShapes else { return false }
            return s.insert(shape).inserted
        }
        if isNew { logger.debug("jwt claims: new shape", ["claims": .string(shape), "kid": .string(keyID)]) }
    }
}
