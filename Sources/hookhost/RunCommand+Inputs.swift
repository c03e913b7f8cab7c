import Glibc
import Synchronization
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// What `hookhost run` runs: the event, the function it goes to (as the host would choose), the result file.
extension RunCommand {
    // MARK: the event

    /// The event type and body: from `--event` (checked the way the host admits a delivery) or
    /// `--data` (wrapped in the envelope `send` uses).
    static func event(_ a: Arguments, maxBody: Int) throws -> (String, [UInt8]) {
        let given = a.positional.first
        if let given, !EventType.isValid(EventType.canonical(given)) {
            throw UsageError("run: \"\(given)\" is not an event type (a plain dotted name such as batch.succeeded)")
        }
        if let file = a.options["--event"] {
            guard a.options["--data"] == nil else { throw UsageError("use either --event or --data") }
            let body = try BodyFile.contents(of: file, option: "--event")
            let name = file == "-" ? "stdin" : file
            guard body.count <= maxBody else {
                throw UsageError("--event: \(name) is \(body.count) bytes; the host answers 413 above HOOKHOST_MAX_BODY (\(maxBody))")
            }
            // The host's own checks, with its own words (it answers 400 and nothing runs).
            let json: JSON
            do { json = try JSONParser.parse(body) } catch { throw UsageError("--event \(name): the host refuses this body (400): body is not JSON: \(error)") }
            guard json.isObject else { throw UsageError("--event \(name): the host refuses this body (400): body is not a JSON object") }
            guard let sent = json["type"]?.stringValue else { throw UsageError("--event \(name): the host refuses this body (400): body has no string \"type\"") }
            let type = EventType.canonical(sent)
            guard EventType.isValid(type) else {
                throw UsageError("--event \(name): the host refuses this body (400): event type is not a plain dotted name of at most \(EventType.maxLength) bytes")
            }
            if let given, EventType.canonical(given) != type {
                throw UsageError("run: TYPE is \(given) but the event's \"type\" is \(sent); the host routes by the event's type (leave TYPE out, or edit the event)")
            }
            return (type, body)
        }
        guard let data = a.options["--data"] else { throw UsageError("run needs --event FILE (the webhook body) or TYPE --data JSON") }
        guard let given else { throw UsageError("run: --data needs the event TYPE (hookhost run batch.succeeded --data '{…}')") }
        guard let parsed = try? JSONParser.parse(data), parsed.isObject else { throw UsageError("--data must be a JSON object") }
        return (EventType.canonical(given), SignedDelivery.envelope(type: given, data: data, at: SystemClock().now()))
    }

    // MARK: the function

    enum Choice {
        /// The function, why it was chosen, and files among the type's candidates that the host
        /// routes past or never runs.
        case found(ResolvedFunction, why: String, notes: [String])
        /// None: the report to print.
        case none(String)
    }

    static func function(for type: String, userMetadata: JSON?, _ a: Arguments) throws -> Choice {
        if let path = a.options["--function"] {
            guard a.options["--functions"] == nil else { throw UsageError("use either --functions DIR or --function PATH") }
            let abs = FileSystem.absolute(path)
            guard FunctionTable.isExecutableFile(abs) else {
                // chmod +x only helps a regular file; a directory or a FIFO never runs.
                var st = stat()
                let why = stat(abs, &st) != 0 ? ": \(String(cString: strerror(errno)))"
                    : (st.st_mode & S_IFMT) == S_IFDIR ? " (it is a directory)"
                    : (st.st_mode & S_IFMT) != S_IFREG ? " (it is not a regular file)" : " (chmod +x \(path))"
                throw UsageError("--function: \(path) is not an executable file" + why)
            }
            return .found(FunctionTable.function(at: abs, name: lastComponent(abs)), why: "named by --function", notes: [])
        }
        let dir = a.options["--functions"] ?? environment()["HOOKHOST_FUNCTIONS"] ?? "./Functions/bin"
        guard !dir.isEmpty else { throw ConfigError(setting: "HOOKHOST_FUNCTIONS", message: "is empty; give the functions directory") }
        let table = FunctionTable(directory: FileSystem.absolute(dir))
        guard table.exists else { throw ConfigError(setting: "HOOKHOST_FUNCTIONS (--functions)", message: "functions directory \(dir) does not exist") }
        let candidates = EventType.candidates(type)
        var problems = table.notExecutable(candidatesOf: type).map { "\($0) is not executable (chmod +x \($0)): the host routes past it" }
        problems += table.misnamed(candidatesOf: type).map(\.problem)
        switch table.route(type: type, userMetadata: userMetadata) {
        case .run(let f, let why):
            return .found(f, why: why, notes: problems)
        case .conflict(_, let why):
            return .none("route conflict: \(why): the host would fail the delivery's attempts until it is dead")
        case .noFunction:
            var out = "no function for \(type) in \(table.directory): the host would acknowledge the delivery and record it skipped\n"
            out += "  looked for: \(candidates.joined(separator: ", ")) and routes (`on`/`match` in sidecars)\n"
            for p in problems { out += "  \(p)\n" }
            return .none(out.trimmingNewlines)
        }
    }

    // MARK: the result

    /// `result` for a local file: its absolute path, size and SHA-256, as the host reports a download.
    static func resultFile(_ path: String, uri: String, contentType: String?) throws -> FetchedResult {
        let abs = FileSystem.absolute(path)
        let fd = open(abs, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw UsageError("--result: cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw UsageError("--result: \(path) is not a regular file") }
        var hash = SHA256Stream()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw RuntimeError("--result: cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buf.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += n
        }
        return FetchedResult(uri: uri, path: abs, bytes: total, sha256: hexString(hash.finish()), contentType: contentType)
    }

    /// A reference as the host reports it in `result.uri` (`abc` → `files/abc`).
    static func reported(_ reference: String) -> String { (try? ResultURI(parsing: reference))?.reported ?? reference }

    static func lastComponent(_ path: String) -> String { String(path.split(separator: "/").last ?? Substring(path)) }
}
