import HookSupport
import HookSpool
import HookDispatch
import HookNet
import HookHTTP
import HookVerify
import HookFetch

/// Pausing and resuming functions, and which deliveries wait for a paused one.
extension SpoolAdmin {
    /// Pauses a function of the directory: `{"function","paused":true,"changed","since","waiting"}`
    /// (`changed` false: it was paused already). Durable, and no run of it starts, once this returns.
    public func pause(_ name: String) -> Result<[UInt8], AdminError> {
        guard PauseList.isFunctionName(name), functions.routableNames().contains(name) else {
            return .failure(.noFunction("no function \(name) in \(functions.directory)"))
        }
        do {
            let changed = try pauses.pause(name, at: spool.clock.now())
            return .success(pauseAnswer(name, changed: changed, waiting: waitingCount(name)))
        } catch {
            return .failure(.unavailable(error.description))
        }
    }

    /// Resumes a paused function (or says it was not paused: `changed` false); its waiting
    /// deliveries are due again. A paused name no longer in the directory can be resumed too.
    public func resume(_ name: String) -> Result<[UInt8], AdminError> {
        guard pauses.isPaused(name) || (PauseList.isFunctionName(name) && functions.routableNames().contains(name)) else {
            return .failure(.noFunction("no function \(name) in \(functions.directory)"))
        }
        // Counted first: once resumed, they start running.
        let waiting = waitingCount(name)
        do {
            let changed = try pauses.resume(name)
            return .success(pauseAnswer(name, changed: changed, waiting: waiting))
        } catch {
            return .failure(.unavailable(error.description))
        }
    }

    /// Its unfinished deliveries that are not running: the ones a pause holds back.
    private func waitingCount(_ name: String) -> Int {
        let routes = WaitingReasons(functions: functions, paused: PauseList())
        let states: [DeliveryState] = [.received, .retryScheduled, .fetched]
        return states.reduce(0) { n, s in n + spool.list(state: s).filter { routes.function(for: $0) == name }.count }
    }

    private func pauseAnswer(_ name: String, changed: Bool, waiting: Int) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("function", name)
        let since = pauses.list.since[name]
        w.field("paused", since != nil)
        w.field("changed", changed)
        w.field("since", optional: since.map(formatTimestamp))
        w.field("waiting", waiting)
        w.endObject()
        return w.bytes
    }
}

/// Why an unfinished delivery waits without running: "paused" when the function it is routed to
/// (the directory read once, on first need) is paused. Only deliveries a worker would take are
/// asked about (received, fetched, a retry): a running one finishes.
struct WaitingReasons {
    let functions: FunctionTable
    let paused: PauseList
    private let routes = Late<DirectoryRoutes>()

    init(functions: FunctionTable, paused: PauseList) {
        self.functions = functions
        self.paused = paused
    }

    func reason(_ d: DeliveryInfo) -> String? {
        guard !paused.isEmpty, d.state == .received || d.state == .retryScheduled || d.state == .fetched,
              let f = function(for: d), paused.contains(f) else { return nil }
        return "paused"
    }

    /// The function the delivery would run now, if any.
    func function(for d: DeliveryInfo) -> String? {
        guard EventType.isValid(d.type) else { return nil }
        let routes = self.routes.get() ?? { let r = functions.directoryRoutes(); self.routes.set(r); return r }()
        return routes.decide(type: d.type, userMetadata: d.head?.userMetadataJSON).function?.name
    }
}
