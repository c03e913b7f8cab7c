// batch.succeeded: summarises a batch's results — how many lines, how many responses, how many errors.
//
// The result is either the output JSONL (`{"key":…,"response":{…}}` or `{"key":…,"error":{…}}`
// per line) or, for inline batches (`result.uri` is `batches/{id}`), the batch resource's JSON.
import Foundation
import HookEvent

struct Tally {
    var lines = 0
    var responses = 0
    var errors = 0

    /// Counts one JSON object; `null` members count as absent.
    mutating func add(_ object: [String: Any]) {
        lines += 1
        if let error = object["error"], !(error is NSNull) {
            errors += 1
        } else if let response = object["response"], !(response is NSNull) {
            responses += 1
        }
    }
}

/// Streams a JSONL file; a non-blank line that is not a JSON object is a permanent failure.
func tallyJSONL(at path: String) -> Tally {
    let reader: LineReader
    do {
        reader = try LineReader(path: path)
    } catch {
        // The host fetched it; gone now means it was cleaned up or the disk is in trouble: try again.
        HookExit.fail("batch.succeeded: cannot open result: \(error)", code: HookExit.retryLater)
    }
    var tally = Tally()
    var lineNumber = 0
    while true {
        let line: UnsafeRawBufferPointer?
        do {
            line = try reader.next()
        } catch {
            HookExit.fail("batch.succeeded: cannot read result: \(error)", code: HookExit.retryLater)
        }
        guard let line else { break }
        lineNumber += 1
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            HookExit.fail("batch.succeeded: line \(lineNumber) of \(path) is not a JSON object",
                          code: HookExit.permanentFailure)
        }
        tally.add(object)
    }
    return tally
}

/// Counts the entries of the first `inlinedResponses` array in a batch resource
/// (`output.inlinedResponses.inlinedResponses` or `response.inlinedResponses.inlinedResponses`).
func tallyInline(at path: String) -> Tally {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        HookExit.fail("batch.succeeded: cannot read result: \(error)", code: HookExit.retryLater)
    }
    guard let resource = try? JSONSerialization.jsonObject(with: data) else {
        HookExit.fail("batch.succeeded: \(path) is not valid JSON", code: HookExit.permanentFailure)
    }
    var tally = Tally()
    for case let item as [String: Any] in inlinedResponses(in: resource) ?? [] {
        tally.add(item)
    }
    return tally
}

func inlinedResponses(in value: Any) -> [Any]? {
    if let array = value as? [Any] {
        return array.lazy.compactMap { inlinedResponses(in: $0) }.first
    }
    guard let object = value as? [String: Any] else { return nil }
    if let inlined = object["inlinedResponses"] {
        if let array = inlined as? [Any] { return array }
        if let nested = inlinedResponses(in: inlined) { return nested }
    }
    // Sorted so the same document always yields the same answer.
    for key in object.keys.sorted() where key != "inlinedResponses" {
        if let found = inlinedResponses(in: object[key]!) { return found }
    }
    return nil
}

let input = HookInput.readOrExit()
let batch: JSONValue = input.event.data.id.map { .string($0.contains("/") ? $0 : "batches/\($0)") } ?? .null

guard let result = input.result else {
    HookOutput.write(["lines": 0, "responses": 0, "errors": 0, "batch": batch, "note": "no result file"])
    exit(HookExit.success)
}

let isInline = result.uri.hasPrefix("batches/")
let tally = isInline ? tallyInline(at: result.path) : tallyJSONL(at: result.path)
var summary: [String: JSONValue] = [
    "lines": .from(tally.lines), "responses": .from(tally.responses), "errors": .from(tally.errors), "batch": batch,
]
if isInline { summary["source"] = "inline" }
HookOutput.write(summary)
