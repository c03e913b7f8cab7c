// interaction (family handler): runs for every `interaction.*` event without a handler of its own
// (`interaction.completed`, `interaction.failed`, `interaction.requires_action`, …).
import HookEvent

let input = HookInput.readOrExit()
let data = input.event.data

var output: [String: JSONValue] = ["interaction": .from(data.id), "type": .string(input.type)]
if let code = data.errorCode { output["error_code"] = .string(code) }
if let message = data.errorMessage { output["error_message"] = .string(message) }
HookOutput.write(output)
