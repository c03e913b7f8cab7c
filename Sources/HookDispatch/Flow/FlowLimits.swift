import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The limits one function's runs start under, from its sidecar: `max_concurrency` (all runs at
/// once), `concurrency` (runs at once per key value) and `rate` (starts per window, for the
/// function or per key value). Pure.
struct FlowLimits: Equatable, Sendable {
    struct Rate: Equatable, Sendable {
        var limit: Int
        var per: Double
        /// Per key value; else one window for the whole function.
        var perKey: Bool
    }

    var total: Int
    var perKey: Int
    var rate: Rate?
    /// Where the key is read; nil: every delivery of the function waits in one queue.
    var keyPath: FlowKeyPath?

    init(total: Int = .max, perKey: Int = .max, rate: Rate? = nil, keyPath: FlowKeyPath? = nil) {
        self.total = max(1, total)
        self.perKey = max(1, perKey)
        self.rate = rate.map { Rate(limit: max(1, $0.limit), per: max(0.001, $0.per), perKey: $0.perKey) }
        self.keyPath = keyPath
    }

    /// A sidecar's limits. The parser makes `rate.key` and `concurrency.key` the same when both
    /// are given, so one key path groups the function's deliveries.
    init(_ s: FunctionSettings) {
        self.init(total: s.maxConcurrency ?? .max, perKey: s.concurrency?.limit ?? .max,
                  rate: s.rate.map { Rate(limit: $0.limit, per: $0.per, perKey: $0.key != nil) },
                  keyPath: s.concurrency?.key ?? s.rate?.key)
    }

    /// The key a delivery of `type` with `userMetadata` waits and runs under.
    func key(type: String, userMetadata: JSON?) -> FlowKey {
        keyPath?.key(type: type, userMetadata: userMetadata) ?? .none
    }
}
