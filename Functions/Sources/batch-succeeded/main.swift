// batch.succeeded: summarises a finished batch into `$BATCH_SUMMARY_DIR/<delivery id>/`:
//
//   summary.json        entries, succeeded, failed (by error code), bytes read, where it came from
//   failed_keys.jsonl   one line per request that did not succeed: key, line, error code, message
//
// and prints the summary on stdout (stored by hookhost as the delivery's output). Each failed key
// whose error is transient becomes an `app.batch.retry` event (HOOKHOST_EMIT), which the
// app.batch.retry function resubmits.
//
// The result is the output JSONL — `{"key":…,"response":{…}}` or `{"key":…,"error":{…}}` per
// line, possibly gigabytes, so it is streamed a line at a time — or, for inline batches
// (`result.uri` is `batches/{id}`), the batch resource's JSON. Runs at least once per delivery:
// the directory is published with one rename, and a delivery that already has one is done.
import Foundation
import HookEvent

let input = HookInput.readOrExit()

guard let result = input.result else {
    // hookhost downloads the result before starting us; none means it is not there yet (or the
    // sidecar says "fetch": false, and then this function cannot do its job).
    HookExit.fail("batch.succeeded: delivery \(input.delivery.id) has no result file yet; retry later",
                  code: HookExit.retryLater)
}

let directory = SummaryDirectory(base: outputBase(), name: input.delivery.fileName)

let batchName = input.event.data.id.map { $0.hasPrefix("batches/") ? $0 : "batches/" + $0 }

if let earlier = directory.existingSummary() {
    // Done by an earlier run of this delivery: answer the same, change nothing — but emit again,
    // as hookhost takes a run's events only when it exits 0, and that run may not have.
    HookOutput.log("batch.succeeded: \(directory.path) exists; delivery \(input.delivery.id) was already summarised")
    RetryEvents.emit(from: directory, batch: batchName, metadata: input.metadata)
    printSummary(earlier)
    exit(HookExit.success)
}

var partial: String?
var answer = Data()
do {
    let dir = try wrapOutput { try directory.makePartial() }
    partial = dir
    let failures = try wrapOutput { try FailedKeysWriter(path: dir + "/failed_keys.jsonl") }
    let isInline = result.uri.hasPrefix("batches/")
    let (tally, bytes) = isInline ? try tallyInline(at: result.path, failures: failures)
                                  : try tallyJSONL(at: result.path, failures: failures)
    guard bytes == result.bytes else {
        throw BatchError.sizeMismatch("\(result.path) has \(bytes) bytes, the host downloaded \(result.bytes)")
    }
    try wrapOutput { try failures.finish() }

    var summary = tally.summary
    summary["delivery"] = .string(input.delivery.id)
    summary["batch"] = .from(batchName)
    summary["source"] = isInline ? "inline" : "file"
    summary["uri"] = .string(result.uri)
    summary["bytes"] = .from(bytes)
    summary["user_metadata"] = input.metadata.map(JSONValue.object) ?? .null
    summary["output"] = .string(directory.path)
    let line = try encodeLine(summary)
    try wrapOutput { try SummaryDirectory.writeSynced(line, to: dir + "/summary.json") }

    if try wrapOutput({ try directory.publish(dir) }) {
        answer = line
    } else if let winner = directory.existingSummary() {
        // A concurrent run of the same delivery published first; its summary is the answer.
        answer = winner
    } else {
        throw BatchError.output(OutputError(path: directory.path, reason: "exists but has no summary.json"))
    }
} catch let error as BatchError {
    if let partial { directory.discard(partial) }
    HookExit.fail(error.description, code: error.exitCode)
} catch {
    if let partial { directory.discard(partial) }
    HookExit.fail("batch.succeeded: \(error)", code: 1)
}
RetryEvents.emit(from: directory, batch: batchName, metadata: input.metadata)
printSummary(answer)

/// `BATCH_SUMMARY_DIR` (set it in the sidecar's `env`), else the private `HOOKHOST_WORK_DIR`.
func outputBase() -> String {
    let environment = ProcessInfo.processInfo.environment
    if let dir = environment["BATCH_SUMMARY_DIR"], !dir.isEmpty { return dir }
    if let dir = environment["HOOKHOST_WORK_DIR"], !dir.isEmpty {
        HookOutput.log("batch.succeeded: BATCH_SUMMARY_DIR is not set; the summary goes to the scratch dir \(dir) and is lost after this run")
        return dir
    }
    HookExit.fail("batch.succeeded: set BATCH_SUMMARY_DIR in the sidecar's env", code: 1)
}

/// Streams the JSONL output; blank lines are skipped, any other line must be a JSON object.
/// Returns the tally and the bytes read.
func tallyJSONL(at path: String, failures: FailedKeysWriter) throws -> (BatchTally, Int) {
    let reader: LineReader
    do { reader = try LineReader(path: path) } catch { throw BatchError.unreadable("cannot open the result: \(error)") }
    var tally = BatchTally()
    var lineNumber = 0
    while true {
        let line: UnsafeRawBufferPointer?
        do { line = try reader.next() } catch { throw BatchError.unreadable("cannot read the result: \(error)") }
        guard let line else { break }
        lineNumber += 1
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
        guard let entry = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw BatchError.malformed("line \(lineNumber) of \(path) is not a JSON object")
        }
        try wrapOutput { try tally.add(entry, position: lineNumber, onFailure: failures.write) }
    }
    return (tally, reader.bytesRead)
}

/// Counts the `inlinedResponses` of a batch resource.
func tallyInline(at path: String, failures: FailedKeysWriter) throws -> (BatchTally, Int) {
    let read: (entries: [Any]?, requests: [String: Any], bytes: Int)
    do { read = try InlineResults.read(at: path) } catch { throw BatchError.unreadable("cannot read the result: \(error)") }
    guard let entries = read.entries else {
        throw BatchError.malformed("\(path) is not a batch resource with inlinedResponses")
    }
    var tally = BatchTally()
    for (index, item) in entries.enumerated() {
        guard let entry = item as? [String: Any] else {
            throw BatchError.malformed("inlinedResponses[\(index)] of \(path) is not a JSON object")
        }
        try wrapOutput {
            try tally.add(entry, position: index + 1, request: { $0.flatMap { read.requests[$0] } }, onFailure: failures.write)
        }
    }
    return (tally, read.bytes)
}

/// Runs `body`, turning an `OutputError` into `BatchError.output`.
func wrapOutput<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as OutputError { throw BatchError.output(error) }
}

/// One line of JSON, encoded like `HookOutput.write`, so stdout and summary.json are the same bytes.
func encodeLine(_ object: [String: JSONValue]) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var line = try encoder.encode(object)
    line.append(0x0A)
    return line
}

func printSummary(_ line: Data) {
    do { try FileHandle.standardOutput.write(contentsOf: line) } catch {
        HookOutput.log("batch.succeeded: cannot write stdout: \(error)")
    }
}
