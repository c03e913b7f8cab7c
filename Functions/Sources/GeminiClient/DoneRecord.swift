import Foundation
import HookEvent

/// `<directory>/<name>.json`: what a run did that must not be done twice (a batch submitted, a
/// function call answered). The API has no idempotency key for these calls, so a second run of
/// the same delivery — hookhost delivers at least once — reads this and answers the same.
/// Written (synced, renamed into place) right after the call succeeds: only a crash between the
/// call and the rename can still repeat it.
public struct DoneRecord: Sendable {
    public let path: String

    public init(directory: String, name: String) {
        path = directory + "/" + HookInput.safeFileName(name) + ".json"
    }

    /// The record of an earlier run, if there is one.
    public func existing() -> [String: JSONValue]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode([String: JSONValue].self, from: data)
    }

    public func write(_ record: [String: JSONValue]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(record) + Data("\n".utf8)
        let partial = directory + "/." + (path as NSString).lastPathComponent + ".partial.\(getpid())"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw DoneRecordError(path: partial, errno: errno) }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { let code = errno; close(fd); unlink(partial); throw DoneRecordError(path: partial, errno: code) }
            offset += n
        }
        let synced = fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced else { unlink(partial); throw DoneRecordError(path: partial, errno: code) }
        guard rename(partial, path) == 0 else { let code = errno; unlink(partial); throw DoneRecordError(path: path, errno: code) }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 { fsync(dirFD); close(dirFD) }
    }
}

/// Writing a record failed: which file, and the `errno` text.
public struct DoneRecordError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String

    init(path: String, errno code: Int32) {
        self.path = path
        reason = String(cString: strerror(code))
    }

    public var description: String { "\(path): \(reason)" }
}

/// Where a function keeps its records: `variable` from the sidecar's `env`, else the scratch
/// `HOOKHOST_WORK_DIR` (lost after the run — said on stderr, as the other examples do).
public func stateDirectory(_ variable: String, function: String) -> String {
    let environment = ProcessInfo.processInfo.environment
    if let dir = environment[variable], !dir.isEmpty { return dir }
    if let dir = environment["HOOKHOST_WORK_DIR"], !dir.isEmpty {
        HookOutput.log("\(function): \(variable) is not set; the record goes to the scratch dir and is lost after this run (a second run may repeat the call)")
        return dir
    }
    HookExit.fail("\(function): set \(variable) in the sidecar's env", code: 1)
}
