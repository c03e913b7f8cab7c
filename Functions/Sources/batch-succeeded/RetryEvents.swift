import Foundation
import HookEvent

/// The follow-up events of a summarised batch: one `app.batch.retry` per failed key whose error is
/// transient (quota, unavailable, internal, deadline), for the `app.batch.retry` function to
/// resubmit. Read from the published `failed_keys.jsonl`, so every run of a delivery — the first,
/// or one that finds the summary already there because an earlier run died before hookhost took
/// its events — emits the same lines in the same order, and hookhost's ids for them stay the same.
enum RetryEvents {
    static let type = "app.batch.retry"

    /// Error codes worth another try; anything else (`INVALID_ARGUMENT`, `NO_RESPONSE`) would fail again.
    static let transientCodes: Set<String> = ["RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED",
                                              "429", "500", "503", "504"]

    /// What to emit: the events' `data`, or why none.
    enum Plan {
        case events([[String: JSONValue]])
        /// More transient failures than `limit`: one event each would flood the pipeline (and
        /// hookhost caps a run's events at `HOOKHOST_MAX_EMIT`), so none are emitted.
        case tooMany(count: Int, limit: Int)
    }

    /// Reads `failedKeysPath` line by line; entries without a key cannot be resubmitted and are skipped.
    static func plan(failedKeysPath: String, batch: String?, limit: Int) throws -> Plan {
        let reader = try LineReader(path: failedKeysPath)
        let decoder = JSONDecoder()
        var events: [[String: JSONValue]] = []
        var count = 0
        while let raw = try reader.next() {
            guard !raw.isEmpty else { continue }
            let line = try decoder.decode([String: JSONValue].self, from: Data(raw))
            guard let code = line["code"]?.stringValue, transientCodes.contains(code),
                  let key = line["key"]?.stringValue else { continue }
            count += 1
            guard count <= limit else { continue }
            var data: [String: JSONValue] = [
                "batch": .from(batch), "key": .string(key), "line": line["line"] ?? .null,
                "error": ["code": .string(code), "message": line["message"] ?? .null],
            ]
            if let request = line["request"] { data["request"] = request }
            events.append(data)
        }
        return count > limit ? .tooMany(count: count, limit: limit) : .events(events)
    }

    /// Emits the plan's events for the batch summarised in `directory`; exits 75 when they cannot
    /// be written (the summary stays published: the next run emits them again).
    static func emit(from directory: SummaryDirectory, batch: String?, metadata: [String: JSONValue]?) {
        let environment = ProcessInfo.processInfo.environment
        let maxRounds = environment["BATCH_MAX_RETRY_ROUNDS"].flatMap { Int($0) } ?? 3
        let limit = environment["BATCH_MAX_RETRY_EVENTS"].flatMap { Int($0) } ?? 1000
        // Set by the retry function on the batches it submits: a key that keeps failing stops here,
        // not after the host's chain depth (a resubmitted batch comes back as a new webhook).
        let round = metadata?["retry_round"]?.intValue ?? 0
        do {
            let plan = try plan(failedKeysPath: directory.path + "/failed_keys.jsonl", batch: batch, limit: limit)
            guard case .events(let events) = plan else {
                if case .tooMany(let count, let limit) = plan {
                    HookOutput.log("batch.succeeded: \(count) transient failures exceed BATCH_MAX_RETRY_EVENTS=\(limit); none emitted — resubmit \(directory.path)/failed_keys.jsonl as one batch")
                }
                return
            }
            guard !events.isEmpty else { return }
            guard round < maxRounds else {
                return HookOutput.log("batch.succeeded: \(events.count) transient failures not retried: retry round \(round) reached BATCH_MAX_RETRY_ROUNDS=\(maxRounds)")
            }
            guard let emitter = try Emitter.fromEnvironment() else {
                return HookOutput.log("batch.succeeded: HOOKHOST_EMIT is not set (a host without emitting, or a run by hand): \(events.count) \(type) events not emitted")
            }
            for data in events {
                // user_metadata left out: the event inherits this delivery's (its job_group included).
                try emitter.emit(type: type, data: data)
            }
            HookOutput.log("batch.succeeded: emitted \(events.count) \(type) events")
        } catch {
            HookExit.fail("batch.succeeded: cannot emit the retry events: \(error)", code: HookExit.retryLater)
        }
    }
}
