// interaction (family handler): runs for every `interaction.*` event without a handler of its own
// (`interaction.completed`, `.requires_action`, `.failed`, `.cancelled`, …) and keeps the latest
// state of each interaction in `$INTERACTION_STATE_DIR/<interaction id>.json`: status, when,
// error code and message, user_metadata, and the deliveries seen. Another program (a dashboard,
// the code that started the interaction) reads that file instead of polling the API.
//
// Deliveries come at least once and in any order: the same delivery twice changes nothing, and an
// older event never overwrites a newer status (see `InteractionRecord.apply`).
import Foundation
import HookEvent

let input = HookInput.readOrExit()

guard let event = InteractionEvent(input) else {
    HookExit.fail("interaction: \(input.type) delivery \(input.delivery.id) has no data.id; nothing to record",
                  code: HookExit.permanentFailure)
}
let environment = ProcessInfo.processInfo.environment
guard let stateDir = environment["INTERACTION_STATE_DIR"] ?? environment["HOOKHOST_WORK_DIR"], !stateDir.isEmpty else {
    HookExit.fail("interaction: set INTERACTION_STATE_DIR in the sidecar's env", code: 1)
}
if environment["INTERACTION_STATE_DIR"] == nil {
    HookOutput.log("interaction: INTERACTION_STATE_DIR is not set; the record goes to the scratch dir and is lost after this run")
}

let file = RecordFile(directory: stateDir, name: HookInput.safeFileName(event.interaction))
var record = InteractionRecord(event)
do {
    try file.update { current in
        if let current {
            // A record we cannot read is not this event's fault; stop and let an operator look.
            guard let earlier = try? JSONDecoder().decode(InteractionRecord.self, from: current),
                  earlier.interaction == event.interaction else {
                throw RecordError(path: file.path, reason: "is not a record for \(event.interaction)")
            }
            record = earlier
            record.apply(event)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(record) + Data("\n".utf8)
    }
} catch {
    HookExit.fail("interaction: cannot record \(event.interaction): \(error)", code: HookExit.retryLater)
}

if event.status == "requires_action" {
    HookOutput.log("interaction: \(event.interaction) requires action (delivery \(event.delivery))")
}
var output: [String: JSONValue] = [
    "interaction": .string(event.interaction), "event_status": .string(event.status),
    "status": .string(record.status), "record": .string(file.path),
]
if let code = event.errorCode { output["error_code"] = .string(code) }
if let message = event.errorMessage { output["error_message"] = .string(message) }
HookOutput.write(output)
