import Foundation
import GeminiClient
import HookEvent

/// Finds the request a batch was given under `key`, in the batch's `inputConfig`: inline
/// (`requests.requests[]`, matched on `metadata.key`) or an input file (`fileName`, JSONL of
/// `{"key":…,"request":{…}}`, downloaded — whole, so at most `GeminiAPI.maxResponseBytes`).
enum RequestLookup {
    static func find(key: String, input: JSONValue?, api: GeminiAPI) async throws(GeminiError) -> JSONValue? {
        if let requests = input?["requests"]?["requests"]?.arrayValue {
            return requests.first { $0["metadata"]?["key"]?.scalarText == key }?["request"]
        }
        guard let fileName = input?["fileName"]?.stringValue else { return nil }
        let id = fileName.hasPrefix("files/") ? String(fileName.dropFirst("files/".count)) : fileName
        let file = try await api.download("download/v1beta/files/\(GeminiAPI.segment(id)):download?alt=media")
        let decoder = JSONDecoder()
        for line in file.split(separator: 0x0A) where !line.isEmpty {
            guard let entry = try? decoder.decode(JSONValue.self, from: Data(line)) else { continue }
            if entry["key"]?.scalarText == key { return entry["request"] }
        }
        return nil
    }
}
