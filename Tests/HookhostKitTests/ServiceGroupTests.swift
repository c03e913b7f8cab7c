import Synchronization
import Testing
@testable import HookSupport
@testable import HookhostKit
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

private final class Recorder: Sendable {
    let events = Mutex<[String]>([])
    func note(_ e: String) { events.withLock { $0.append(e) } }
}

private final class FakeService: Service {
    let name: String
    let recorder: Recorder
    init(_ name: String, _ recorder: Recorder) { self.name = name; self.recorder = recorder }
    func start() { recorder.note("start \(name)") }
    func stop() { recorder.note("stop \(name)") }
}

@Suite struct ServiceGroupTests {
    @Test func servicesStopInReverseStartOrderAndOnlyOnce() {
        let r = Recorder()
        var group = ServiceGroup(logger: quietLogger)
        group.start("a", FakeService("a", r))
        group.started("b") { r.note("stop b") }
        group.start("c", FakeService("c", r))
        group.shutdown()
        group.shutdown()
        #expect(r.events.withLock { $0 } == ["start a", "start c", "stop c", "stop b", "stop a"])
    }

    @Test func aStartThatFailsPartWayStopsWhatAlreadyRuns() {
        let r = Recorder()
        var group = ServiceGroup(logger: quietLogger)
        struct Failed: Error {}
        func bringUp(_ g: inout ServiceGroup) throws {
            g.start("writer", FakeService("writer", r))
            g.start("reaper", FakeService("reaper", r))
            throw Failed()
        }
        do { try bringUp(&group) } catch { group.shutdown() }
        #expect(r.events.withLock { $0 } == ["start writer", "start reaper", "stop reaper", "stop writer"])
    }
}
