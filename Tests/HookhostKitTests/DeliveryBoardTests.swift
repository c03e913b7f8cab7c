import Synchronization
import Testing
@testable import HookSupport
@testable import HookSpool
@testable import HookVerify

/// The answers one admission got.
final class BoardAnswers: Sendable {
    private let got = Mutex<[AdmitResult]>([])
    func add(_ r: AdmitResult) { got.withLock { $0.append(r) } }
    var all: [AdmitResult] { got.withLock { $0 } }
}

/// The board's admission decisions, without a log: which copies are written, which wait for
/// another's write, which are answered at once.
@Suite struct DeliveryBoardTests {
    /// Begins an admission, its answers collected in `into`.
    func begin(_ board: DeliveryBoard, _ id: String, job: String, by: VerifiedBy, into: BoardAnswers) -> DeliveryBoard.Intake {
        board.beginAdmit(id, type: "batch.succeeded", job: job, verifiedBy: by, queueMax: 100) { r in into.add(r) }
    }

    func isWrite(_ i: DeliveryBoard.Intake) -> Bool { if case .write = i { true } else { false } }
    func isWaiting(_ i: DeliveryBoard.Intake) -> Bool { if case .waitingForFirstCopy = i { true } else { false } }

    /// A real delivery of a completion whose synthesized event is still being written is not
    /// answered "duplicate" before that event is durable: were its write to fail (or the host to
    /// die before the fsync), Gemini would have been told it was delivered and never send it again.
    @Test func aRealDeliveryWaitsForTheSynthesizedEventOfItsJobBeingWritten() {
        for outcome in [AdmitResult.unavailable("spool cannot persist: disk full"), .accepted] {
            let board = DeliveryBoard(clock: ManualClock(1000))
            let synthesized = BoardAnswers(), real = BoardAnswers()
            #expect(isWrite(begin(board, "reconcile_a", job: "batches/a", by: .reconcile, into: synthesized)))
            #expect(isWaiting(begin(board, "wh_1", job: "a", by: .hmac, into: real)))
            #expect(real.all.isEmpty)
            if outcome == .accepted {
                board.accepted(id: "reconcile_a", type: "batch.succeeded", at: 1000, verifiedBy: .reconcile,
                               head: DeliveryHead(job: "batches/a"), body: SpoolRef(offset: 0, length: 1))
            }
            board.endAdmit("reconcile_a", outcome) { r in synthesized.add(r) }
            #expect(synthesized.all == [outcome])
            // Failed: the real one is not stored either, so the sender must try again (503), not stop.
            #expect(real.all == [outcome == .accepted ? .duplicate : outcome])
        }
    }

    /// Likewise a synthesized event while a real delivery of its completion is being written:
    /// "duplicate" tells `hookhost reconcile` the completion is delivered, which is true only once
    /// that delivery is durable.
    @Test func aSynthesizedEventWaitsForTheRealDeliveryOfItsJobBeingWritten() {
        let board = DeliveryBoard(clock: ManualClock(1000))
        let synthesized = BoardAnswers(), real = BoardAnswers()
        #expect(isWrite(begin(board, "wh_1", job: "a", by: .hmac, into: real)))
        #expect(isWaiting(begin(board, "reconcile_a", job: "batches/a", by: .reconcile, into: synthesized)))
        board.endAdmit("wh_1", .unavailable("spool cannot persist: EIO")) { r in real.add(r) }
        #expect(synthesized.all == [.unavailable("spool cannot persist: EIO")])
        // Nothing of either is left pending: the next synthesized event is written.
        #expect(isWrite(begin(board, "reconcile_a", job: "a", by: .reconcile, into: synthesized)))
    }
}
