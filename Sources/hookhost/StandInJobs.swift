import Glibc
import Synchronization
import HookSupport
import HookHTTP
import HookVerify
import HookFetch

/// The stand-in Gemini API's jobs: batches created with `POST /{v}/models/{model}:batchGenerateContent`
/// and interactions (`GET /{v}/interactions/{id}`, `POST /{v}/interactions` answering a function
/// call), spoken the way google-genai 3.3.0 speaks them (PROTOCOL §8; the e2e suite drives this with
/// the SDK). A created batch succeeds a moment later and its `batch.succeeded` is POSTed, signed
/// with the demo's secret, to the batch's webhook URIs (else the project webhook), `user_metadata`
/// echoed in `data.user_metadata` — so a function that resubmits work sees the new batch come back
/// through the host.
///
/// Shared by `hookhost demo` (`DemoAPI`) and `hookhost demo --api-only` (`StandInAPI`); state lives
/// in memory for the life of the process.
final class StandInJobs: Sendable {
    /// Signs the `batch.succeeded` deliveries; `nil`: they are not sent (said in the log).
    let secret: WebhookSecret?
    /// Where a batch without `webhookConfig.uris` is reported (Gemini's project-level webhook).
    let projectWebhook: String?
    /// Seconds from create to `BATCH_STATE_SUCCEEDED` and the webhook.
    let delay: Double
    /// Reads an input file `files/<id>` for a batch created from a file (nil: none there).
    let readFile: @Sendable (String) -> [UInt8]?
    /// One line per thing done in the background (webhook sent, refused, …).
    let log: @Sendable (String) -> Void

    /// At most this many batches and interactions each are kept; past that, creates are refused
    /// (`RESOURCE_EXHAUSTED`) — a stand-in fed by a loop must not grow without bound.
    static let maxJobs = 10_000
    /// Webhook POST attempts per batch (Gemini retries for 24 h; a demo does not wait that long).
    static let webhookAttempts = 5

    let state = Mutex(State())

    struct State: Sendable {
        var batches: [String: StandInBatch] = [:]
        /// Keys that failed once: the same key in a later batch succeeds, so a resubmission ends the loop.
        var failedKeys: Set<String> = []
        var interactions: [String: StandInInteraction] = [:]
        var serial = 0
        /// Batch ids in creation order (the listing's order).
        var order: [String] = []
        /// Batches still to finish without their webhook (`loseWebhooks`).
        var loseNext = 0
    }

    init(secret: WebhookSecret?, projectWebhook: String?, delay: Double = 0.3, failedBefore: [String] = [],
         readFile: @escaping @Sendable (String) -> [UInt8]? = { _ in nil },
         log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.secret = secret
        self.projectWebhook = projectWebhook
        self.delay = delay
        self.readFile = readFile
        self.log = log
        state.withLock { $0.failedKeys.formUnion(failedBefore) }
    }

    /// The answer when `request` is one of the jobs endpoints, else `nil` (the caller serves files).
    func answer(_ request: HTTPRequest) -> HTTPResponse? {
        let path = request.path
        if path.hasPrefix("/download/"), path.hasSuffix(":download") {
            guard request.method == "GET" || request.method == "HEAD",
                  let id = path.split(separator: "/").last.map({ String($0.dropLast(":download".count)) }) else { return nil }
            return batchOutput(fileID: id)
        }
        if path == "/standin/lose-webhooks", request.method == "POST" { return loseWebhooks(query: Self.query(request.target)) }
        let parts = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0].isEmpty, parts[1] == "v1" || parts[1] == "v1beta" else { return nil }
        let rest = parts[2]
        switch request.method {
        case "POST" where rest.hasPrefix("models/") || rest.hasPrefix("tunedModels/"):
            guard rest.hasSuffix(":batchGenerateContent") else { return nil }
            return createBatch(model: String(rest.dropLast(":batchGenerateContent".count)), body: request.body)
        case "GET" where rest == "batches":
            return listBatches(query: Self.query(request.target))
        case "GET" where rest.hasPrefix("operations/") || (rest.hasPrefix("models/") && rest.contains("/operations/")):
            return operation(name: rest, host: request.header("host"))
        case "GET" where rest.hasPrefix("batches/"):
            return batch(id: String(rest.dropFirst("batches/".count)))
        case "GET" where rest.hasPrefix("interactions/"):
            return interaction(id: String(rest.dropFirst("interactions/".count)))
        case "POST" where rest == "interactions":
            return continueInteraction(body: request.body)
        default:
            return nil
        }
    }

    /// A fresh id, unique in this process and across restarts of it (a host keeps delivery ids 72 h).
    func newID(_ prefix: String) -> String {
        let n = state.withLock { s -> Int in s.serial += 1; return s.serial }
        return "\(prefix)\(hexString(Crypto.randomBytes(4)))\(n)"
    }

    /// Google's error shape: `{"error":{"code":…,"message":…,"status":…}}`.
    static func failure(_ code: Int, _ status: String, _ message: String) -> HTTPResponse {
        var w = JSONWriter()
        w.beginObject(); w.key("error"); w.beginObject()
        w.field("code", code); w.field("message", message); w.field("status", status)
        w.endObject(); w.endObject()
        return .json(code, w.bytes)
    }

    static func now() -> String { formatTimestamp(SystemClock().now()) }

    /// The body as a JSON object, or the 400 the API answers to anything else.
    static func object(_ body: [UInt8]) -> Result<JSON, HTTPResponseError> {
        guard let value = try? JSONParser.parse(body), value.isObject else {
            return .failure(HTTPResponseError(failure(400, "INVALID_ARGUMENT", "the request body is not a JSON object")))
        }
        return .success(value)
    }

    /// One segment of letters, digits, `-`, `_`, `.` (as `StandInAPI.isSafeID`): ids are echoed into paths.
    static func isSafeID(_ s: String) -> Bool { StandInAPI.isSafeID(s) }
}

/// An answer that ends handling early, carried through `Result`.
struct HTTPResponseError: Error {
    let response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}

extension JSON {
    /// The value at a dotted path of object keys (`batch.webhookConfig.uris`).
    func at(_ path: String) -> JSON? {
        var value: JSON? = self
        for key in path.split(separator: ".") { value = value?[String(key)] }
        return value
    }

    var arrayValue: [JSON]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// Compact JSON text.
    var compact: String {
        var w = JSONWriter()
        w.value(self)
        return w.string
    }
}
