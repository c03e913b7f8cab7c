import Dispatch
import Synchronization
import HookSupport
import HookVerify
import HookSpool

/// A synthesized event checked and ready to admit: its body is what `ReconcileEvent.body`
/// writes, and its id the one `ReconcileEvent.id` gives for that job and type.
public struct SynthesizedEvent: Sendable, Equatable {
    public let id: String
    public let type: String
    public let job: String
    public let head: DeliveryHead
    public let body: [UInt8]

    public init?(_ e: ReconcileEvent) {
        guard let id = e.id, let body = e.body, case .success(let s) = SynthesizedEvent.check(id: id, body: body) else { return nil }
        self = s
    }

    private init(id: String, type: String, job: String, head: DeliveryHead, body: [UInt8]) {
        self.id = id; self.type = type; self.job = job; self.head = head; self.body = body
    }

    /// Checks an event a client sent for admission (`POST /deliveries/admit`): a JSON object with
    /// a job-completion `type` and `data.id`, and exactly the id `ReconcileEvent` derives from
    /// them — an id chosen any other way would let two runs add the same completion twice.
    public static func check(id: String, body: [UInt8]) -> Result<SynthesizedEvent, ReconcileAdmission.Refusal> {
        guard let event = try? JSONParser.parse(body), event.isObject else { return .failure(.init("body is not a JSON object")) }
        guard let sent = event["type"]?.stringValue else { return .failure(.init("body has no string \"type\"")) }
        let type = EventType.canonical(sent)
        guard EventType.isValid(type), JobKey.isJobType(type) else {
            return .failure(.init("type \(sent) is not a job's completion (batch.*, video.*, interaction.*)"))
        }
        guard let job = event["data"]?["id"]?.stringValue, JobKey(type: type, job: job) != nil else {
            return .failure(.init("body has no data.id naming the job"))
        }
        let expected = ReconcileEvent(job: job, state: "", type: type).id
        guard id == expected else { return .failure(.init("id \(id) is not the one derived from the job and type (\(expected ?? "none"))")) }
        return .success(SynthesizedEvent(id: id, type: type, job: job, head: DeliveryHead.derive(type: type, event: event, body: body), body: body))
    }
}

/// Admits synthesized events as deliveries verified by `reconcile`: for the control socket
/// (`hookhost reconcile --apply`) and the in-host timer alike.
public enum ReconcileAdmission {
    public struct Refusal: Error, Equatable, Sendable {
        public let message: String
        public init(_ message: String) { self.message = message }
    }

    public enum Outcome: Sendable, Equatable {
        /// Stored durably: it runs like any delivery.
        case admitted
        /// Nothing added: its completion is known, through a real delivery (`by` empty) or the
        /// synthesized event `by` (an earlier run's).
        case seen(by: String)
        /// Not stored; the message says why. A later run tries again.
        case failed(String)
    }

    /// Where admitted events are counted and logged (the running host's; none on the CLI's direct path).
    public struct Reporting: Sendable {
        public var metrics: Metrics?
        public var logger: Logger?
        public init(metrics: Metrics? = nil, logger: Logger? = nil) {
            self.metrics = metrics; self.logger = logger
            metrics?.describe("hookhost_reconciled_total", "Events hookhost reconcile synthesized and admitted for jobs whose delivery never came, by type.")
        }
    }

    /// What each event would meet, without storing anything.
    public static func preview(_ events: [SynthesizedEvent], in store: any DeliveryStorage) -> [Outcome] {
        events.map { e in
            if store.remembers(e.id) { return .seen(by: e.id) }
            return store.jobDuplicate(type: e.type, job: e.job, verifiedBy: .reconcile).map { .seen(by: $0) } ?? .admitted
        }
    }

    /// Admits every event (their records share the spool's group commits) and returns once each
    /// is durable or refused. A crash in between loses nothing a re-run does not add: the ids are
    /// derived from the jobs, so what was stored is a duplicate then.
    public static func admit(_ events: [SynthesizedEvent], into store: any DeliveryStorage, reporting: Reporting = Reporting()) -> [Outcome] {
        let group = DispatchGroup()
        let results = OutcomeSlots(count: events.count)
        for (i, e) in events.enumerated() {
            group.enter()
            store.admit(id: e.id, type: e.type, verifiedBy: .reconcile, jwt: nil, head: e.head, body: e.body) { result in
                results.set(i, result)
                group.leave()
            }
        }
        group.wait()
        return zip(events, results.all).map { e, result in
            switch result {
            case .accepted?:
                reporting.metrics?.add("hookhost_reconciled_total", labels: [("type", e.type)])
                reporting.logger?.info("recovered \(e.type.split(separator: ".").first ?? "") \(e.job) (\(e.type)) as \(e.id)",
                                       ["id": .string(e.id), "type": .string(e.type), "job": .string(e.job)])
                return .admitted
            case .duplicate?:
                return .seen(by: store.jobDuplicate(type: e.type, job: e.job, verifiedBy: .reconcile) ?? e.id)
            case .unavailable(let why)?:
                reporting.logger?.warn("reconcile: event not stored", ["id": .string(e.id), "reason": .string(why)])
                return .failed(why)
            case nil:
                return .failed("no answer from the spool")
            }
        }
    }
}

/// One answer per admitted event, filled from the spool's writer thread.
private final class OutcomeSlots: Sendable {
    private let slots: Mutex<[AdmitResult?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ r: AdmitResult) { slots.withLock { $0[i] = r } }
    var all: [AdmitResult?] { slots.withLock { $0 } }
}
