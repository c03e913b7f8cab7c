// interaction.requires_action: answers the function calls an interaction waits for, so a
// background interaction that needs a tool does not wait for a person. Reads the interaction
// (`GET /v1/interactions/{id}`), finds its `function_call` steps without a `function_result`,
// runs each through `Tools` (here, in this process) and sends the results the way google-genai's
// `client.interactions.create` does: `POST /v1/interactions` with `previous_interaction_id` and
// `input` = the `function_result` steps. The interaction then goes on (its next event comes as a
// webhook of its own).
//
// At least once: the answer is recorded under the interaction id in $INTERACTION_ANSWERS_DIR, and
// an interaction no longer `requires_action` is left alone, so a second delivery answers nothing twice.
import Foundation
import GeminiClient
import HookEvent

let input = HookInput.readOrExit()
guard let raw = input.event.data.id, !raw.isEmpty else {
    HookExit.fail("interaction.requires_action: delivery \(input.delivery.id) has no data.id", code: HookExit.permanentFailure)
}
let id = raw.hasPrefix("interactions/") ? String(raw.dropFirst("interactions/".count)) : raw
guard let api = GeminiAPI.fromEnvironment() else {
    HookExit.fail("interaction.requires_action: no API key: add GEMINI_API_KEY (and GOOGLE_GEMINI_BASE_URL for another API host) to the sidecar's pass_env",
                  code: 1)
}
let record = DoneRecord(directory: stateDirectory("INTERACTION_ANSWERS_DIR", function: "interaction.requires_action"), name: id)
if let done = record.existing() {
    HookOutput.log("interaction.requires_action: \(id) was already answered (\(record.path))")
    HookOutput.write(done)
    exit(HookExit.success)
}

do {
    let interaction = try await api.get("v1/interactions/" + GeminiAPI.segment(id))
    let status = interaction["status"]?.stringValue ?? "unknown"
    guard status == "requires_action" else {
        // Answered already (by us, or the code that started it), cancelled, or failed: nothing to do.
        HookOutput.log("interaction.requires_action: \(id) is \(status) now; nothing to answer")
        HookOutput.write(["interaction": .string(id), "status": .string(status), "answered": []])
        exit(HookExit.success)
    }
    let steps = interaction["steps"]?.arrayValue ?? []
    let answered = Set(steps.compactMap { $0["type"]?.stringValue == "function_result" ? $0["call_id"]?.stringValue : nil })
    let pending = steps.filter { $0["type"]?.stringValue == "function_call" && !answered.contains($0["id"]?.stringValue ?? "") }
    guard !pending.isEmpty else {
        HookExit.fail("interaction.requires_action: \(id) requires action but has no unanswered function_call step (another kind of action?)",
                      code: HookExit.permanentFailure)
    }

    var results: [JSONValue] = []
    for call in pending {
        let name = call["name"]?.stringValue ?? ""
        let outcome = Tools.call(name, arguments: call["arguments"]?.objectValue ?? [:])
        var step: [String: JSONValue] = ["type": "function_result", "call_id": call["id"] ?? .null, "name": .string(name),
                                         "result": outcome.result]
        if outcome.isError { step["is_error"] = true }
        results.append(.object(step))
    }
    var body: [String: JSONValue] = ["previous_interaction_id": .string(id), "input": .array(results)]
    // The continuation runs on the same model or agent, and reports to the same webhooks.
    for field in ["model", "agent", "webhook_config"] { if let value = interaction[field] { body[field] = value } }
    let next = try await api.post("v1/interactions", .object(body))

    let output: [String: JSONValue] = [
        "interaction": .string(id), "status": .string(status),
        "answered": .array(pending.map { $0["id"] ?? .null }), "tools": .array(pending.map { $0["name"] ?? .null }),
        "results": .array(results), "next_interaction": next["id"] ?? .null, "next_status": next["status"] ?? .null,
    ]
    do { try record.write(output) } catch {
        HookOutput.log("interaction.requires_action: answered \(id) but cannot record it: \(error)")
    }
    HookOutput.log("interaction.requires_action: answered \(pending.count) call(s) of \(id); next \(next["id"]?.stringValue ?? "?") is \(next["status"]?.stringValue ?? "?")")
    HookOutput.write(output)
} catch {
    HookExit.fail("interaction.requires_action: \(error)", code: error.exitCode)
}
