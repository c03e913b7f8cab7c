import Glibc
import Dispatch
import HookSupport
import HookHTTP
import HookVerify
import HookFetch

/// One created batch: what was asked, and its output once it succeeded.
struct StandInBatch: Sendable {
    let id: String
    let model: String
    let displayName: String?
    /// `batch.inputConfig` as sent (echoed by `GET`, where a resubmitting function finds a request by key).
    let inputConfig: JSON
    /// Inline requests are answered inline (`inlinedResponses`), a file's in a responses file.
    let inline: Bool
    let webhookURIs: [String]
    let userMetadata: JSON?
    let createTime: String
    var endTime: String?
    /// One entry per request, in order: `{"key":…,"response"|"error":…}` (file) or
    /// `{"response"|"error":…,"metadata":{"key":…}}` (inline), compact JSON.
    let entries: [String]
    let failed: Int

    var name: String { "batches/" + id }
    var outputFile: String { "files/batch-" + id }
    var succeeded: Bool { endTime != nil }
}

extension StandInJobs {
    /// `POST /{v}/{model}:batchGenerateContent` with `{"batch":{"displayName","inputConfig":
    /// {"requests":{"requests":[{"request","metadata":{"key"}}]}} or {"fileName"},"webhookConfig":
    /// {"uris","user_metadata"}}}` (what google-genai sends). Answers the pending batch.
    func createBatch(model: String, body: [UInt8]) -> HTTPResponse {
        let doc: JSON
        switch Self.object(body) {
        case .success(let value): doc = value
        case .failure(let error): return error.response
        }
        guard let input = doc.at("batch.inputConfig"), input.isObject else {
            return Self.failure(400, "INVALID_ARGUMENT", "batch.inputConfig is required")
        }
        let requests: [(key: String?, request: JSON)]
        let inline: Bool
        if let list = input.at("requests.requests")?.arrayValue {
            requests = list.map { ($0.at("metadata.key").flatMap(Self.scalarText), $0["request"] ?? .null) }
            inline = true
        } else if let fileName = input["fileName"]?.stringValue {
            let id = fileName.hasPrefix("files/") ? String(fileName.dropFirst(6)) : fileName
            guard Self.isSafeID(id), let file = readFile(id) else {
                return Self.failure(400, "INVALID_ARGUMENT", "input file \(fileName) not found")
            }
            requests = file.split(separator: 0x0A).compactMap { line in
                guard let entry = try? JSONParser.parse(Array(line)), entry.isObject else { return nil }
                return (entry["key"].flatMap(Self.scalarText), entry["request"] ?? .null)
            }
            inline = false
        } else {
            return Self.failure(400, "INVALID_ARGUMENT", "batch.inputConfig needs requests.requests or fileName")
        }
        let config = doc.at("batch.webhookConfig")
        let uris = config?["uris"]?.arrayValue?.compactMap(\.stringValue) ?? []
        // curl would also take file:// and others; a webhook is an HTTP(S) URL.
        if let odd = uris.first(where: { !($0.hasPrefix("http://") || $0.hasPrefix("https://")) }) {
            return Self.failure(400, "INVALID_ARGUMENT", "webhookConfig.uris: \(odd) is not an http(s) URL")
        }
        let metadata = config?["user_metadata"] ?? config?["userMetadata"]
        let id = newID("b")
        let fullModel = model.contains("/") ? model : "models/" + model
        let created: StandInBatch? = state.withLock { s in
            guard s.batches.count < Self.maxJobs else { return nil }
            var entries: [String] = []
            var failed = 0
            for (index, item) in requests.enumerated() {
                // Every ninth request hits the quota the first time its key is seen; the same key
                // in a later batch goes through, so a resubmission of the failed keys succeeds.
                let key = item.key ?? "\(id)#\(index + 1)"
                let fails = (index + 1) % 9 == 0 && !s.failedKeys.contains(key)
                if fails { s.failedKeys.insert(key); failed += 1 }
                entries.append(Self.entry(key: item.key, fails: fails, model: fullModel, inline: inline))
            }
            let batch = StandInBatch(id: id, model: fullModel, displayName: doc.at("batch.displayName")?.stringValue,
                              inputConfig: input, inline: inline, webhookURIs: uris, userMetadata: metadata,
                              createTime: Self.now(), endTime: nil, entries: entries, failed: failed)
            s.batches[id] = batch
            s.order.append(id)
            return batch
        }
        guard let created else { return Self.failure(429, "RESOURCE_EXHAUSTED", "the stand-in holds \(Self.maxJobs) batches already") }
        log("batch \(created.name) created: \(requests.count) request(s), \(created.failed) will fail, model \(fullModel)")
        // A timer, not a thread asleep: the batch "runs" for `delay` seconds, then finishes.
        StandInJobs.timers.asyncAfter(deadline: .now() + delay) { [self] in finish(id) }
        return .json(200, Self.resource(created))
    }

    /// `GET /{v}/batches/{id}` for a created batch; `nil` for others (served from files, if any).
    func batch(id: String) -> HTTPResponse? {
        guard let batch = state.withLock({ $0.batches[id] }) else { return nil }
        return .json(200, Self.resource(batch))
    }

    /// The responses file of a succeeded file batch (`files/batch-<id>`); `nil` for other ids.
    func batchOutput(fileID: String) -> HTTPResponse? {
        guard fileID.hasPrefix("batch-"), let batch = state.withLock({ $0.batches[String(fileID.dropFirst(6))] }),
              !batch.inline, batch.succeeded else { return nil }
        let body = batch.entries.map { $0 + "\n" }.joined()
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/jsonl")], body: Array(body.utf8))
    }

    /// Marks the batch succeeded and reports it to its webhooks.
    func finish(_ id: String) {
        guard let batch = state.withLock({ s -> StandInBatch? in
            s.batches[id]?.endTime = Self.now()
            return s.batches[id]
        }) else { return }
        let targets = batch.webhookURIs.isEmpty ? (projectWebhook.map { [$0] } ?? []) : batch.webhookURIs
        if takeLoss() { return log("batch \(batch.name) succeeded; its webhook is lost on purpose (POST /standin/lose-webhooks)") }
        guard let secret else {
            return log("batch \(batch.name) succeeded; no webhook sent (no signing secret: set HOOKHOST_SECRETS)")
        }
        guard !targets.isEmpty else {
            return log("batch \(batch.name) succeeded; no webhook sent (no webhookConfig.uris and no project webhook)")
        }
        var data = JSONWriter()
        data.beginObject()
        data.field("id", batch.name)
        if !batch.inline { data.field("output_file_uri", batch.outputFile) }
        if let metadata = batch.userMetadata { data.key("user_metadata"); data.value(metadata) }
        data.endObject()
        let body = SignedDelivery.envelope(type: "batch.succeeded", data: data.string, at: SystemClock().now())
        // The same id on every attempt, like Gemini's: the host deduplicates on it.
        let messageID = "standin_" + id + "_succeeded"
        for uri in targets {
            post(body, to: uri, id: messageID, secret: secret, batch: batch.name)
        }
    }

    /// One attempt; a failed one schedules the next on the timer queue (0.5 s, 1 s, … later).
    private func post(_ body: [UInt8], to uri: String, id: String, secret: WebhookSecret, batch: String, attempt: Int = 1) {
        let timestamp = String(Int(SystemClock().now()))
        var request = SignedDelivery.request(url: uri, secret: secret, id: id, timestamp: timestamp, body: body)
        request.timeout = 10
        let last: String
        do {
            let response = try HTTPClient.perform(request)
            if (200..<300).contains(response.status) {
                return log("batch.succeeded \(batch) → \(URLRedaction.withoutQuery(uri)): \(response.status)")
            }
            last = "HTTP \(response.status)"
        } catch {
            last = String(describing: error)
        }
        guard attempt < Self.webhookAttempts else {
            return log("batch.succeeded \(batch) → \(URLRedaction.withoutQuery(uri)): gave up after \(Self.webhookAttempts) attempts (\(last))")
        }
        StandInJobs.timers.asyncAfter(deadline: .now() + 0.5 * Double(attempt)) { [self] in
            post(body, to: uri, id: id, secret: secret, batch: batch, attempt: attempt + 1)
        }
    }

    /// Where batches finish and webhook retries wait (their delays are timers, not sleeping threads).
    static let timers = DispatchQueue(label: "hookhost.standin.timers", attributes: .concurrent)

    /// The batch resource as `GET batches/{id}` answers it: a long-running operation whose
    /// `metadata` is the `GenerateContentBatch` (what the SDK's `_BatchJob_from_mldev` reads).
    static func resource(_ batch: StandInBatch) -> [UInt8] {
        let succeeded = batch.succeeded
        var w = JSONWriter()
        w.beginObject()
        w.field("name", batch.name)
        w.key("metadata"); w.beginObject()
        w.field("@type", "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch")
        w.field("model", batch.model)
        if let name = batch.displayName { w.field("displayName", name) }
        w.key("inputConfig"); w.value(batch.inputConfig)
        if succeeded { w.key("output"); output(batch, into: &w) }
        w.field("createTime", batch.createTime)
        w.field("updateTime", batch.endTime ?? batch.createTime)
        if let end = batch.endTime { w.field("endTime", end) }
        let total = batch.entries.count
        w.key("batchStats"); w.beginObject()
        // int64 fields travel as strings in Google's JSON.
        w.field("requestCount", String(total))
        w.field("successfulRequestCount", String(succeeded ? total - batch.failed : 0))
        w.field("failedRequestCount", String(succeeded ? batch.failed : 0))
        w.field("pendingRequestCount", String(succeeded ? 0 : total))
        w.endObject()
        w.field("state", succeeded ? "BATCH_STATE_SUCCEEDED" : "BATCH_STATE_PENDING")
        w.field("name", batch.name)
        w.endObject()
        w.field("done", succeeded)
        if succeeded { w.key("response"); output(batch, into: &w) }
        w.endObject()
        return w.bytes
    }

    private static func output(_ batch: StandInBatch, into w: inout JSONWriter) {
        w.beginObject()
        w.field("@type", "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput")
        if batch.inline {
            w.key("inlinedResponses"); w.beginObject(); w.key("inlinedResponses"); w.beginArray()
            for entry in batch.entries { w.raw(Array(entry.utf8)) }
            w.endArray(); w.endObject()
        } else {
            w.field("responsesFile", batch.outputFile)
        }
        w.endObject()
    }

    /// One request's outcome: a short model answer, or the quota error Gemini gives under load.
    static func entry(key: String?, fails: Bool, model: String, inline: Bool) -> String {
        var w = JSONWriter()
        w.beginObject()
        if let key, !inline { w.field("key", key) }
        if fails {
            w.key("error"); w.beginObject()
            w.field("code", 429); w.field("message", "Resource has been exhausted (e.g. check quota)."); w.field("status", "RESOURCE_EXHAUSTED")
            w.endObject()
        } else {
            w.key("response"); w.beginObject()
            w.key("candidates"); w.beginArray(); w.beginObject()
            w.key("content"); w.beginObject()
            w.key("parts"); w.beginArray(); w.beginObject(); w.field("text", "stand-in answer to \(key ?? "a request")"); w.endObject(); w.endArray()
            w.field("role", "model")
            w.endObject()
            w.field("finishReason", "STOP")
            w.endObject(); w.endArray()
            w.field("modelVersion", String(model.split(separator: "/").last ?? ""))
            w.endObject()
        }
        if let key, inline { w.key("metadata"); w.beginObject(); w.field("key", key); w.endObject() }
        w.endObject()
        return w.string
    }

    /// A key as text: strings as they are, numbers as written.
    static func scalarText(_ value: JSON) -> String? {
        switch value {
        case .string(let s): return s
        case .number(let n): return n
        default: return nil
        }
    }
}
