import HookhostKit
import HookSupport
import HookSpool
import HookDispatch

/// `hookhost functions pause NAME` / `resume NAME`: through the running host's control socket,
/// or on the data directory directly (holding its lock) when no host runs.
extension FunctionsCommand {
    static func pauseOrResume(_ action: String, _ name: String, table: FunctionTable, data: String, json: Bool) throws -> Int32 {
        try DeliveriesCommand.checkDataDirectory(data)
        let path = "/functions/\(ControlEndpoint.percentEncode(name))/\(action)"
        let (status, body) = try DeliveriesCommand.perform("POST", path, data: data, functions: table)
        guard (200..<300).contains(status) else {
            let msg = (try? JSONParser.parse(body))?["error"]?.stringValue ?? String(decoding: body, as: UTF8.self)
            throw RuntimeError(msg)
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
        } else {
            print(pauseText(action, body), terminator: "")
        }
        return 0
    }

    /// What `pause`/`resume` answered, for people.
    static func pauseText(_ action: String, _ body: [UInt8]) -> String {
        let doc = try? JSONParser.parse(body)
        let name = doc?["function"]?.stringValue ?? "?"
        let changed = doc?["changed"]?.boolValue ?? false
        let n = doc?["waiting"]?.intValue ?? 0
        let waiting = "\(n) \(n == 1 ? "delivery" : "deliveries")"
        switch (action, changed) {
        case ("pause", true):
            return "paused \(name): its deliveries are still accepted and stored, but none runs until `hookhost functions resume \(name)`"
                + " (a run under way finishes); \(waiting) waiting\n"
        case ("pause", false):
            return "\(name) was already paused (since \(doc?["since"]?.stringValue ?? "?")); \(waiting) waiting\n"
        case (_, true):
            return "resumed \(name): \(waiting) that waited for it run now, as its limits allow\n"
        default:
            return "\(name) was not paused; nothing changed\n"
        }
    }
}
