import Foundation

/// Inline batch results: when a batch had no output file, the host downloads the batch resource
/// (`result.uri` is `batches/{id}`) and the responses are inside it, at
/// `…output.inlinedResponses.inlinedResponses[]` (where exactly has moved between API versions,
/// so the first `inlinedResponses` array found is used). Inline batches are small by the API's
/// own limits, so reading this one JSON document whole is fine — unlike the JSONL files.
enum InlineResults {
    /// The entries and the document's size; `entries` is `nil` when the document is not JSON or
    /// has no `inlinedResponses` list (malformed input).
    /// `requests` maps `metadata.key` to the request as submitted (`inputConfig.requests.requests`,
    /// when the resource echoes its input), for a retry to resubmit.
    static func read(at path: String) throws -> (entries: [Any]?, requests: [String: Any], bytes: Int) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        guard let resource = try? JSONSerialization.jsonObject(with: data) else { return (nil, [:], data.count) }
        return (find(in: resource), requests(in: resource), data.count)
    }

    private static func requests(in resource: Any) -> [String: Any] {
        guard let metadata = (resource as? [String: Any])?["metadata"] as? [String: Any] ?? resource as? [String: Any],
              let input = metadata["inputConfig"] as? [String: Any],
              let list = (input["requests"] as? [String: Any])?["requests"] as? [Any] else { return [:] }
        var byKey: [String: Any] = [:]
        for case let item as [String: Any] in list {
            guard let key = BatchTally.key(of: item), let request = item["request"], byKey[key] == nil else { continue }
            byKey[key] = request
        }
        return byKey
    }

    private static func find(in value: Any) -> [Any]? {
        if let array = value as? [Any] {
            return array.lazy.compactMap { find(in: $0) }.first
        }
        guard let object = value as? [String: Any] else { return nil }
        if let inlined = object["inlinedResponses"] {
            if let array = inlined as? [Any] { return array }
            if let nested = find(in: inlined) { return nested }
        }
        // Sorted so the same document always yields the same answer.
        for key in object.keys.sorted() where key != "inlinedResponses" {
            if let found = find(in: object[key]!) { return found }
        }
        return nil
    }
}
