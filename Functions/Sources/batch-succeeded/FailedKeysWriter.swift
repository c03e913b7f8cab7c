import Foundation
import HookEvent

/// Appends one JSON line per failed entry — `{"code":…,"key":…,"line":…,"message":…}`, plus
/// `"request"` when the failed request is known — through a
/// stdio buffer, so a batch with a million failures is written as it is read, not held in memory.
final class FailedKeysWriter {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Error messages can quote the whole request; the summary is for finding keys, not for archiving.
    static let maxMessage = 500

    init(path: String) throws {
        guard let file = fopen(path, "w") else { throw OutputError(path: path, errno: errno) }
        self.path = path
        self.file = file
    }

    deinit { fclose(file) }

    func write(_ failure: BatchTally.Failure) throws {
        let message = failure.message.map { String($0.prefix(Self.maxMessage)) }
        var line: [String: JSONValue] = ["key": .from(failure.key), "line": .from(failure.position),
                                         "code": .string(failure.code), "message": .from(message)]
        if let request = failure.request {
            let data = try JSONSerialization.data(withJSONObject: request, options: [.fragmentsAllowed])
            line["request"] = try JSONDecoder().decode(JSONValue.self, from: data)
        }
        var data = try encoder.encode(line)
        data.append(0x0A)
        let written = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == data.count else { throw OutputError(path: path, errno: errno) }
    }

    /// Flushes and syncs: the directory is published right after, and must not hold a short file.
    func finish() throws {
        guard fflush(file) == 0, fsync(fileno(file)) == 0 else { throw OutputError(path: path, errno: errno) }
    }
}

/// Writing the output failed: which file, and the `errno` text.
struct OutputError: Error, CustomStringConvertible {
    let path: String
    let reason: String

    init(path: String, errno code: Int32) {
        self.path = path
        self.reason = String(cString: strerror(code))
    }

    init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    var description: String { "\(path): \(reason)" }
}
