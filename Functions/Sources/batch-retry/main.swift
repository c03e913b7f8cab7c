// app.batch.retry: resubmits one failed request of a batch as a new batch, so a quota error at
// 3 a.m. does not need a person. The batch.succeeded handler emits one such event per failed key
// (`data`: `batch`, `key`, `error`, `line`, and `request` when its output held it); hookhost runs
// this function for each, with the original batch's `user_metadata`.
//
// The new batch is created the way google-genai's `client.batches.create` creates one —
// `POST /v1/{model}:batchGenerateContent` with `batch.inputConfig.requests` and
// `batch.webhookConfig` — carrying the original `user_metadata` (so its job_group routes the
// result like the first time) plus `retry_of` and `retry_round` (which the batch handler uses to
// stop retrying). Its batch.succeeded then comes back through the host like any batch.
//
// At least once: the created batch is recorded under the delivery id in $BATCH_RETRY_STATE_DIR
// before answering, and a second run of the delivery answers from that record.
import Foundation
import GeminiClient
import HookEvent

let input = HookInput.readOrExit()
let data = input.event.data
guard let batch = data["batch"]?.stringValue, batch.hasPrefix("batches/"), let key = data["key"]?.scalarText else {
    HookExit.fail("app.batch.retry: delivery \(input.delivery.id) has no data.batch (batches/…) or data.key; nothing to resubmit",
                  code: HookExit.permanentFailure)
}
guard let api = GeminiAPI.fromEnvironment() else {
    HookExit.fail("app.batch.retry: no API key: add GEMINI_API_KEY (and GOOGLE_GEMINI_BASE_URL for another API host) to the sidecar's pass_env",
                  code: 1)
}
let record = DoneRecord(directory: stateDirectory("BATCH_RETRY_STATE_DIR", function: "app.batch.retry"), name: input.delivery.id)
if let done = record.existing() {
    HookOutput.log("app.batch.retry: delivery \(input.delivery.id) already resubmitted \(key) as \(done["batch"]?.stringValue ?? "?")")
    HookOutput.write(done)
    exit(HookExit.success)
}

do {
    // The original batch names the model, and holds the request when the event does not.
    let original = try await api.get("v1/batches/" + GeminiAPI.segment(String(batch.dropFirst("batches/".count))))
    let metadata = original["metadata"] ?? original
    guard let model = metadata["model"]?.stringValue ?? ProcessInfo.processInfo.environment["BATCH_RETRY_MODEL"] else {
        HookExit.fail("app.batch.retry: \(batch) names no model; set BATCH_RETRY_MODEL", code: 1)
    }
    var request = data["request"]
    if request == nil { request = try await RequestLookup.find(key: key, input: metadata["inputConfig"], api: api) }
    guard let request else {
        HookExit.fail("app.batch.retry: the request for key \(key) is not in \(batch)'s input; it cannot be resubmitted",
                      code: HookExit.permanentFailure)
    }

    var userMetadata = input.metadata ?? [:]
    let round = (userMetadata["retry_round"]?.intValue ?? 0) + 1
    userMetadata["retry_round"] = .from(round)
    userMetadata["retry_of"] = .string(batch)
    var webhookConfig: [String: JSONValue] = ["user_metadata": .object(userMetadata)]
    // Without URIs the batch reports to the project's webhooks, as any batch does.
    if let uri = ProcessInfo.processInfo.environment["BATCH_RETRY_WEBHOOK_URI"], !uri.isEmpty {
        webhookConfig["uris"] = [.string(uri)]
    }
    let body: JSONValue = ["batch": [
        "displayName": .string("retry \(round) of \(key) from \(batch)"),
        "inputConfig": ["requests": ["requests": [["request": request, "metadata": ["key": .string(key)]]]]],
        "webhookConfig": .object(webhookConfig),
    ]]
    let modelPath = model.contains("/") ? model : "models/" + model
    let created = try await api.post("v1/\(modelPath):batchGenerateContent", body)
    guard let name = created["name"]?.stringValue else {
        HookExit.fail("app.batch.retry: the API created a batch but named none: \(created)", code: HookExit.retryLater)
    }
    let output: [String: JSONValue] = [
        "batch": .string(name), "retry_of": .string(batch), "key": .string(key), "retry_round": .from(round),
        "job_group": userMetadata["job_group"] ?? .null, "delivery": .string(input.delivery.id),
    ]
    do { try record.write(output) } catch {
        // The batch exists; a retry of this delivery would submit it again. Say so, and still succeed.
        HookOutput.log("app.batch.retry: submitted \(name) but cannot record it: \(error) — a second run would resubmit")
    }
    HookOutput.log("app.batch.retry: resubmitted \(key) of \(batch) as \(name) (round \(round))")
    HookOutput.write(output)
} catch {
    HookExit.fail("app.batch.retry: \(error)", code: error.exitCode)
}
