import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// A delivery a worker runs: everything needed to start its function.
struct Job: Sendable {
    let id: String
    let type: String
    let receivedAt: Double
    let verifiedBy: VerifiedBy
    let jwt: JWTIdentity?
    let attempt: Int
    /// Attempts made in the current budget (this one included).
    let attemptsInBudget: Int
    /// Attempts before the current budget.
    let attemptBase: Int
    /// Since when the function keeps answering "try again later", if it does.
    let retryLaterSince: Double?
    /// The result downloaded for it (this attempt or an earlier one), if any.
    let result: FetchedResult?
    let body: [UInt8]
    /// What admission read from the body.
    let head: DeliveryHead
    /// Opens once the attempt's start record is on disk (nil when there is none to wait for).
    let recorded: RecordGate?

    init(_ started: StartedDelivery) {
        let d = started.info
        id = d.id
        type = d.type
        receivedAt = d.receivedAt
        verifiedBy = d.verifiedBy
        jwt = started.jwt
        attempt = d.attempt
        attemptsInBudget = d.attempt - d.attemptBase
        attemptBase = d.attemptBase
        retryLaterSince = d.retryLaterSince
        result = d.result
        body = started.body
        head = started.head ?? d.head ?? DeliveryHead()
        recorded = started.recorded
    }
}
