import Foundation

/// Writes follow-up events to the file hookhost names in `HOOKHOST_EMIT`: one compact JSON object
/// per line, `{"data":{…},"type":"app.batch.retry","user_metadata":{…}}`. hookhost takes the lines
/// only when the run exits 0, and stores them with the run's `done` in one durable write; each
/// becomes a delivery of its own (`delivery.verified_by` `parent`), routed like a webhook.
///
/// A run that is retried starts with an empty file, and hookhost derives each child's id from the
/// parent's id and the line number — so emit the same events in the same order on every run of a
/// delivery (derive them from the input or from output you already published, not from the clock).
///
/// ```swift
/// if let emitter = try Emitter.fromEnvironment() {
///     try emitter.emit(type: "app.batch.retry", data: ["batch": "batches/abc", "key": "request-9"])
/// }
/// ```
public final class Emitter: Sendable {
    /// The file the events go to.
    public let path: String
    private let fd: Int32

    /// The emitter for `HOOKHOST_EMIT`, or `nil` when it is unset or empty (a host without
    /// emitting, or a function run by hand): decide whether the run can do without.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(EmitError) -> Emitter?
    {
        guard let path = environment["HOOKHOST_EMIT"], !path.isEmpty else { return nil }
        return try Emitter(path: path)
    }

    /// Opens `path` for appending (created 0600 if missing). Refused: a relative path, a symbolic
    /// link as the last component (never followed), anything but a regular file (a FIFO would block).
    public init(path: String) throws(EmitError) {
        guard path.hasPrefix("/") else { throw .notAbsolute(path) }
        // O_NONBLOCK: opening a FIFO for writing would wait for a reader; it does nothing to a regular file.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard fd >= 0 else { throw .open(path: path, reason: Self.errnoText()) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .notRegularFile(path)
        }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// Appends one event. `type` must be a dotted name (`app.batch.retry`) outside Gemini's families
    /// (`batch`, `video`, `interaction`) and `hookhost`; `userMetadata` `nil` means "the same as
    /// this delivery's" (hookhost fills it in).
    public func emit(type: String, data: [String: JSONValue], userMetadata: [String: JSONValue]? = nil) throws(EmitError) {
        let line = try Self.line(type: type, data: data, userMetadata: userMetadata)
        try append(line)
    }

    /// The bytes `emit` writes for one event, newline included.
    public static func line(type: String, data: [String: JSONValue], userMetadata: [String: JSONValue]?)
        throws(EmitError) -> [UInt8]
    {
        try check(type)
        var object: [String: JSONValue] = ["type": .string(type), "data": .object(data)]
        if let userMetadata { object["user_metadata"] = .object(userMetadata) }
        let encoder = JSONEncoder()
        // Sorted: the same event is the same bytes on every run. JSONEncoder escapes control
        // characters, so the line holds no newline but its last byte.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(object)) + [0x0A]
        } catch {
            throw .encoding(type: type, reason: String(describing: error))
        }
    }

    /// Families an emitted event may not claim: Gemini's own, whose events only Gemini sends, and hookhost's.
    public static let reservedFamilies: Set<String> = ["batch", "video", "interaction", "hookhost"]
    public static let maxTypeLength = 128

    /// Throws when `type` is not a name hookhost accepts for an emitted event.
    public static func check(_ type: String) throws(EmitError) {
        let segments = type.split(separator: ".", omittingEmptySubsequences: false)
        let valid = !type.isEmpty && type.utf8.count <= maxTypeLength && segments.allSatisfy { segment in
            !segment.isEmpty && segment.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
            }
        }
        guard valid else { throw .invalidType(type) }
        // In any case, as the host refuses them (a case-insensitive functions directory would
        // run `batch.succeeded` for `Batch.succeeded`).
        guard !reservedFamilies.contains(segments[0].lowercased()) else { throw .reservedType(type) }
    }

    /// One write per line, so with O_APPEND the line lands whole after everything written before.
    private func append(_ line: [UInt8]) throws(EmitError) {
        var offset = 0
        while offset < line.count {
            let n = line.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .write(path: path, reason: n < 0 ? Self.errnoText() : "wrote nothing") }
            offset += n
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Why an event could not be emitted; `description` is one line fit for stderr.
public enum EmitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `HOOKHOST_EMIT` is not an absolute path.
    case notAbsolute(String)
    /// The file could not be opened (`reason` is the errno text; a symbolic link gives "Too many levels of symbolic links").
    case open(path: String, reason: String)
    /// The path is a directory, FIFO or device, not a regular file.
    case notRegularFile(String)
    /// The type is not a dotted name of `A-Z a-z 0-9 _ -` segments, at most 128 bytes.
    case invalidType(String)
    /// The type is in a family only Gemini or hookhost may use.
    case reservedType(String)
    /// The event could not be encoded.
    case encoding(type: String, reason: String)
    /// Writing the line failed (disk full, …).
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAbsolute(let path): return "emit: HOOKHOST_EMIT \"\(path)\" is not an absolute path"
        case .open(let path, let reason): return "emit: cannot open \(path): \(reason)"
        case .notRegularFile(let path): return "emit: \(path) is not a regular file"
        case .invalidType(let type):
            return "emit: \"\(type)\" is not an event type (dot-separated segments of letters, digits, _ and -, at most 128 bytes)"
        case .reservedType(let type):
            return "emit: \"\(type)\" is in a family only Gemini or hookhost sends (batch, video, interaction, hookhost); use your own, e.g. app.…"
        case .encoding(let type, let reason): return "emit: cannot encode the \(type) event: \(reason)"
        case .write(let path, let reason): return "emit: cannot write \(path): \(reason)"
        }
    }
}
