import Foundation

/// Exit codes with a meaning to hookhost; any other non-zero exit is a failed attempt that is retried.
public enum HookExit {
    /// Done.
    public static let success: Int32 = 0
    /// EX_TEMPFAIL: not now, run me again later (outcome `retry`).
    public static let retryLater: Int32 = 75
    /// EX_DATAERR: this input will never work; dead-letter it without retrying (outcome `dead`).
    public static let permanentFailure: Int32 = 65

    /// Writes `message` and a newline to stderr, then exits with `code`.
    public static func fail(_ message: String, code: Int32) -> Never {
        HookOutput.log(message)
        exit(code)
    }
}

/// Writing a function's output: stdout holds at most one JSON object (stored as the delivery's output).
public enum HookOutput {
    /// Prints `object` as one line of JSON (sorted keys) on stdout.
    public static func write(_ object: [String: JSONValue]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            var line = try encoder.encode(object)
            line.append(0x0A)
            // Anything the function print()ed sits in the C stdio buffer; keep it ahead of this line.
            fflush(nil)
            try FileHandle.standardOutput.write(contentsOf: line)
        } catch {
            log("hookhost output: cannot write stdout: \(error)")
        }
    }

    /// Writes `message` and a newline to stderr (kept by hookhost and logged).
    public static func log(_ message: String) {
        // The throwing API: the older `write(_:)` traps on a closed pipe.
        try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
    }
}
