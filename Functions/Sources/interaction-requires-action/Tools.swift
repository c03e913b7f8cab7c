import Foundation
import HookEvent

/// The functions the model may call, run here. Replace them with your own: each takes the call's
/// `arguments` and returns the `result` sent back (any JSON). An unknown name or bad arguments
/// answer with `is_error`, so the model learns why instead of the interaction waiting forever.
enum Tools {
    struct Outcome: Sendable {
        let result: JSONValue
        let isError: Bool
    }

    static let all: [String: @Sendable ([String: JSONValue]) -> Outcome] = [
        // {"a": 2, "b": 40} → {"sum": 42}
        "add": { arguments in
            guard let a = arguments["a"]?.doubleValue, let b = arguments["b"]?.doubleValue else {
                return Outcome(result: "add needs numbers a and b", isError: true)
            }
            return Outcome(result: ["sum": .number(a + b)], isError: false)
        },
        // {} → {"utc": "2026-05-04T12:00:00Z"}
        "get_current_time": { _ in
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            return Outcome(result: ["utc": .string(formatter.string(from: Date()))], isError: false)
        },
    ]

    static func call(_ name: String, arguments: [String: JSONValue]) -> Outcome {
        guard let tool = all[name] else {
            return Outcome(result: .string("unknown function \(name); this handler knows \(all.keys.sorted().joined(separator: ", "))"),
                           isError: true)
        }
        return tool(arguments)
    }
}
