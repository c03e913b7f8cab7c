import Synchronization

/// A background part of the host: `start()` begins its work on threads of its own; `stop()` asks
/// it to end and returns only once every thread it started has exited (stop-and-join), so a
/// shutdown in reverse start order leaves nothing running behind it.
public protocol Service: AnyObject, Sendable {
    /// Starts the service's threads. Called once.
    func start()
    /// Stops the service and joins its threads. Called once, after `start()`.
    func stop()
}

/// A thread that runs `tick` every `interval()` seconds, or at once when poked, until stopped: the
/// one stop flag and interruptible wait the host's periodic services (reaper, JWKS refresher,
/// secrets watch, result janitor, spool housekeeping) share instead of one copy each.
public final class BackgroundLoop: Service, @unchecked Sendable {  // safe: `poked`, `stopping` and `handle` are guarded by `monitor`
    private let name: String
    private let nice: Int32?
    private let interval: @Sendable () -> Double
    private let tick: @Sendable (BackgroundLoop) -> Void
    private let monitor = Monitor()
    private var poked = false
    private var stopping = false
    private var handle: ThreadHandle?

    /// `interval` is read before each wait (a loop whose next due time changes computes it there).
    public init(name: String, nice: Int32? = nil, every interval: @escaping @Sendable () -> Double,
                tick: @escaping @Sendable (BackgroundLoop) -> Void) {
        self.name = name
        self.nice = nice
        self.interval = interval
        self.tick = tick
    }

    public func start() {
        let t = startThread(name: name, nice: nice) { [self] in
            while true {
                let stop = monitor.locked { () -> Bool in
                    if !poked && !stopping { monitor.wait(seconds: max(0, interval())) }
                    poked = false
                    return stopping
                }
                if stop { return }
                tick(self)
            }
        }
        monitor.locked { handle = t }
    }

    /// Runs a tick now (a poke during a tick runs one more after it).
    public func poke() {
        monitor.locked {
            poked = true
            monitor.signal()
        }
    }

    /// Inside a tick: waits `seconds` unless the loop is stopped meanwhile. False once stopping.
    @discardableResult
    public func pause(_ seconds: Double) -> Bool {
        let until = monotonicNow() + seconds
        return monitor.locked { () -> Bool in
            while !stopping, case let left = until - monotonicNow(), left > 0 { monitor.wait(seconds: left) }
            return !stopping
        }
    }

    /// Whether `stop()` has been called.
    public var isStopping: Bool { monitor.locked { stopping } }

    public func stop() {
        let t = monitor.locked { () -> ThreadHandle? in
            stopping = true
            monitor.broadcast()
            defer { handle = nil }
            return handle
        }
        t?.join()
    }
}
