import HookSupport
import HookHTTP

/// One interaction of the stand-in: waiting for the answer to one function call, then completed.
struct StandInInteraction: Sendable {
    let id: String
    var status: String
    let model: String
    let created: String
    var updated: String
    let previousID: String?
    /// The steps so far, compact JSON each (`user_input`, `function_call`, `function_result`, `model_output`).
    var steps: [String]
    /// The pending call: answered by a `function_result` with this `call_id`.
    let callID: String?
}

extension StandInJobs {
    /// The model's question in every stand-in interaction: a call a function can answer locally.
    static let pendingCall = (name: "add", arguments: #"{"a":2,"b":40}"#)

    /// `GET /{v}/interactions/{id}`: an interaction not seen before starts as `requires_action`
    /// with one pending `function_call` (as after `interaction.requires_action`).
    func interaction(id: String) -> HTTPResponse {
        guard Self.isSafeID(id) else { return Self.failure(400, "INVALID_ARGUMENT", "\"\(id)\" is not an interaction id") }
        let found: StandInInteraction? = state.withLock { s in
            if let known = s.interactions[id] { return known }
            guard s.interactions.count < Self.maxJobs else { return nil }
            let now = Self.now()
            let callID = "call_" + id
            let steps = [
                #"{"type":"user_input","content":[{"type":"text","text":"What is 2 + 40? Use the add tool."}]}"#,
                #"{"type":"function_call","id":"\#(callID)","name":"\#(Self.pendingCall.name)","arguments":\#(Self.pendingCall.arguments)}"#,
            ]
            let fresh = StandInInteraction(id: id, status: "requires_action", model: "gemini-2.5-flash", created: now, updated: now,
                                    previousID: nil, steps: steps, callID: callID)
            s.interactions[id] = fresh
            return fresh
        }
        guard let found else { return Self.failure(429, "RESOURCE_EXHAUSTED", "the stand-in holds \(Self.maxJobs) interactions already") }
        return .json(200, Self.document(found))
    }

    /// `POST /{v}/interactions` with `previous_interaction_id` and `input` holding the
    /// `function_result` for the pending call (what google-genai's `interactions.create` sends).
    /// Records the answer: the previous interaction is completed, and the answer is a new,
    /// completed interaction continuing it. Anything else is refused, saying why.
    func continueInteraction(body: [UInt8]) -> HTTPResponse {
        let doc: JSON
        switch Self.object(body) {
        case .success(let value): doc = value
        case .failure(let error): return error.response
        }
        guard let previousID = doc["previous_interaction_id"]?.stringValue else {
            return Self.failure(400, "INVALID_ARGUMENT", "this stand-in only continues interactions: previous_interaction_id is required")
        }
        let results = (doc["input"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == "function_result" }
        guard !results.isEmpty else {
            return Self.failure(400, "INVALID_ARGUMENT", "input holds no function_result step")
        }
        let id = newID("i")
        let outcome: Result<StandInInteraction, HTTPResponseError> = state.withLock { s in
            guard var previous = s.interactions[previousID] else {
                return .failure(HTTPResponseError(Self.failure(404, "NOT_FOUND", "interaction \(previousID) not found")))
            }
            guard previous.status == "requires_action", let callID = previous.callID else {
                // 400, not 409: the SDK retries a 409, and an answer to a finished interaction never becomes right.
                return .failure(HTTPResponseError(Self.failure(400, "FAILED_PRECONDITION",
                                                               "interaction \(previousID) is \(previous.status), not waiting for a function result")))
            }
            guard let answer = results.first(where: { $0["call_id"]?.stringValue == callID }) else {
                let ids = results.compactMap { $0["call_id"]?.stringValue }.joined(separator: ", ")
                return .failure(HTTPResponseError(Self.failure(400, "INVALID_ARGUMENT",
                                                               "no pending function call \(ids) in \(previousID) (pending: \(callID))")))
            }
            let now = Self.now()
            let resultText = answer["result"].map { $0.stringValue ?? $0.compact } ?? "null"
            var output = JSONWriter()
            output.beginObject(); output.field("type", "model_output"); output.key("content"); output.beginArray()
            output.beginObject(); output.field("type", "text"); output.field("text", "The add tool answered \(resultText)."); output.endObject()
            output.endArray(); output.endObject()
            let answered = [answer.compact, output.string]
            previous.steps += answered
            previous.status = "completed"
            previous.updated = now
            s.interactions[previousID] = previous
            let next = StandInInteraction(id: id, status: "completed", model: previous.model, created: now, updated: now,
                                   previousID: previousID, steps: answered, callID: nil)
            s.interactions[id] = next
            return .success(next)
        }
        switch outcome {
        case .success(let next):
            log("interaction \(previousID) answered (function_result); continued as \(next.id), completed")
            return .json(200, Self.document(next))
        case .failure(let error):
            return error.response
        }
    }

    /// The Interaction resource as the API returns it.
    static func document(_ interaction: StandInInteraction) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", interaction.id)
        w.field("status", interaction.status)
        w.field("model", interaction.model)
        w.field("created", interaction.created)
        w.field("updated", interaction.updated)
        if let previous = interaction.previousID { w.field("previous_interaction_id", previous) }
        w.key("steps"); w.beginArray()
        for step in interaction.steps { w.raw(Array(step.utf8)) }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
