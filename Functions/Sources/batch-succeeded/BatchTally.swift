import Foundation
import HookEvent

/// Counts a batch's responses and errors, and hands every line that did not succeed to `onFailure`.
///
/// One entry is one request of the batch: `{"key":…,"response":{…}}` or `{"key":…,"error":{…}}`
/// (PROTOCOL §5; inline results carry the key as `metadata.key`). Memory stays bounded: only the
/// counters and at most `maxCodes` distinct error codes are kept, never the keys themselves.
struct BatchTally {
    /// Entries with a `response` (and no `error`).
    private(set) var succeeded = 0
    /// Entries with an `error`.
    private(set) var failed = 0
    /// Entries with neither: listed with the failed keys so nothing disappears silently.
    private(set) var unrecognised = 0
    /// Failed entries per error `status` (else `code`); codes past `maxCodes` are counted as `other`.
    private(set) var errorsByCode: [String: Int] = [:]

    static let maxCodes = 100

    var entries: Int { succeeded + failed + unrecognised }

    /// One failed or unrecognised entry, as written to the failed-keys file.
    struct Failure {
        let key: String?
        /// 1-based line of the JSONL file, or 1-based position in the inline list.
        let position: Int
        let code: String
        let message: String?
        /// The request that failed, when the output holds it (Vertex-style `request` members, or an
        /// inline batch's `inputConfig`): what a retry resubmits.
        var request: Any? = nil
    }

    /// Counts one entry; `null` members count as absent.
    mutating func add(_ entry: [String: Any], position: Int, request: (String?) -> Any? = { _ in nil },
                      onFailure: (Failure) throws -> Void) rethrows {
        if let error = entry["error"], !(error is NSNull) {
            failed += 1
            let code = Self.code(of: error)
            count(code)
            let message = (error as? [String: Any])?["message"] as? String
            let key = Self.key(of: entry)
            let original = entry["request"].flatMap { $0 is NSNull ? nil : $0 } ?? request(key)
            try onFailure(Failure(key: key, position: position, code: code, message: message, request: original))
        } else if let response = entry["response"], !(response is NSNull) {
            succeeded += 1
        } else {
            unrecognised += 1
            try onFailure(Failure(key: Self.key(of: entry), position: position, code: "NO_RESPONSE",
                                  message: "neither response nor error"))
        }
    }

    private mutating func count(_ code: String) {
        let bucket = errorsByCode[code] != nil || errorsByCode.count < Self.maxCodes ? code : "other"
        errorsByCode[bucket, default: 0] += 1
    }

    /// `key`, else `metadata.key` (inline requests), as text; numbers are keys too.
    static func key(of entry: [String: Any]) -> String? {
        scalarText(entry["key"]) ?? scalarText((entry["metadata"] as? [String: Any])?["key"])
    }

    /// The error's `status` (`RESOURCE_EXHAUSTED`), else its `code` (`429`), else `UNKNOWN`.
    static func code(of error: Any) -> String {
        guard let object = error as? [String: Any] else { return "UNKNOWN" }
        return scalarText(object["status"]) ?? scalarText(object["code"]) ?? "UNKNOWN"
    }

    private static func scalarText(_ value: Any?) -> String? {
        switch value {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    /// The counters as summary fields.
    var summary: [String: JSONValue] {
        [
            "entries": .from(entries), "succeeded": .from(succeeded), "failed": .from(failed),
            "unrecognised": .from(unrecognised),
            "errors_by_code": .object(errorsByCode.mapValues { .from($0) }),
        ]
    }
}
