import HookEvent

/// Why a batch could not be summarised, and what hookhost should do about it (the exit code).
enum BatchError: Error, CustomStringConvertible {
    /// The result is not batch output (a line that is not a JSON object, no inline list): the same
    /// file will never work, so the delivery is dead-lettered at once (65).
    case malformed(String)
    /// The result could not be opened or read: try again later (75).
    case unreadable(String)
    /// The file's size is not what the host downloaded: a failed attempt (1), retried, then dead-lettered.
    case sizeMismatch(String)
    /// The output directory could not be written (permissions, disk full): try again later (75).
    case output(OutputError)

    var exitCode: Int32 {
        switch self {
        case .malformed: return HookExit.permanentFailure
        case .unreadable, .output: return HookExit.retryLater
        case .sizeMismatch: return 1
        }
    }

    var description: String {
        switch self {
        case .malformed(let reason), .unreadable(let reason), .sizeMismatch(let reason): return "batch.succeeded: " + reason
        case .output(let error): return "batch.succeeded: cannot write the summary: \(error)"
        }
    }
}
