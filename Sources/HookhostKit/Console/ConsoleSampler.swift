import Synchronization
import HookSupport
import HookSpool

/// Takes a `ConsoleSample` every `interval` seconds from the counters and gauges the metrics
/// already keep, into a ring of the last hour: the overview's charts need history that
/// Prometheus text (a single moment) does not give, without a second store.
final class ConsoleSampler: Service {
    static let interval: Double = 10
    static let capacity = 360

    private let ring = Mutex(SampleRing(capacity: ConsoleSampler.capacity))
    private let metrics: Metrics
    private let spool: any DeliveryQueries
    private let clock: any WallClock
    private let loop = Mutex<BackgroundLoop?>(nil)

    init(metrics: Metrics, spool: any DeliveryQueries, clock: any WallClock) {
        self.metrics = metrics
        self.spool = spool
        self.clock = clock
    }

    /// One sample at once (so the first chart has a start), then one per interval.
    func start() {
        take()
        let l = BackgroundLoop(name: "console-samples", nice: 5, every: { ConsoleSampler.interval }) { [self] _ in take() }
        loop.withLock { $0 = l }
        l.start()
    }

    func stop() { loop.withLock { $0 }?.stop() }

    func take() {
        let s = current()
        ring.withLock { $0.append(s) }
    }

    /// The ring, oldest first.
    var samples: [ConsoleSample] { ring.withLock { $0.ordered } }

    /// A reading now, not kept: the newest point of a chart, so the last seconds show before
    /// the next sample is taken.
    func current() -> ConsoleSample {
        ConsoleSampler.read(metrics: metrics, spool: spool, now: clock.now())
    }

    /// `/console/api/samples`: the ring and a reading now.
    func json() -> [UInt8] { ConsoleRates.json(samples + [current()], interval: ConsoleSampler.interval) }

    static func read(metrics: Metrics, spool: any DeliveryQueries, now: Double) -> ConsoleSample {
        var s = ConsoleSample(at: now)
        s.accepted = metrics.counterValues("hookhost_deliveries_total")[Metrics.render([("outcome", "accepted")])] ?? 0
        for (rendered, v) in metrics.counterValues("hookhost_runs_total") {
            let l = ConsoleSample.labels(rendered)
            s.runs[l["function"] ?? "", default: [:]][l["outcome"] ?? "", default: 0] += v
        }
        s.fetchBytes = metrics.counterValues("hookhost_fetch_bytes_total").values.reduce(0, +)
        s.queueDepth = spool.queueDepth
        s.deadLetters = spool.deadCount
        s.oldestUnfinishedAge = spool.unfinishedSummary().oldestReceivedAt.map { max(0, (now - $0).rounded()) } ?? 0
        return s
    }
}
