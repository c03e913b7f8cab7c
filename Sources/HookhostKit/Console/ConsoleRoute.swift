import HookSupport
import HookHTTP

/// What a request under `/console` asks for. Pure: method and path in, route out; the ids in a
/// path are percent-decoded here, once.
public enum ConsoleRoute: Sendable, Equatable {
    /// `/console` → `/console/` (relative links in the page resolve below it).
    case redirect
    case asset(ConsoleAssets.Name)
    case read(Read)
    case action(Action)
    case notFound
    case methodNotAllowed(allow: String)

    public enum Read: Sendable, Equatable {
        /// `GET /console/api/status`: the control socket's `/status`.
        case status
        case samples
        /// A page of deliveries, newest first.
        case deliveries
        /// `GET /console/api/deliveries/ID`: the control socket's `/deliveries/ID`.
        case delivery(String)
        /// The last run's output, whole, as a download.
        case output(String)
        case dead
        case functions
    }

    public enum Action: Sendable, Equatable {
        case replay(String)
        case purge(String)
        /// `POST /console/api/deliveries/replay?…` and `…/purge?…`: the control socket's, by filter.
        case replayFiltered, purgeFiltered
        /// A dead-letter group: `{"function":…,"reason":…}` in the body.
        case replayDeadGroup
        case pause(String), resume(String)
    }

    public static let prefix = "/console"

    /// Whether `path` belongs to the console (`/console`, `/console/…`; not `/consoles`).
    public static func owns(_ path: String) -> Bool { path == prefix || path.hasPrefix(prefix + "/") }

    public static func of(method: String, path: String) -> ConsoleRoute {
        if path == prefix { return method == "GET" || method == "HEAD" ? .redirect : .methodNotAllowed(allow: "GET, HEAD") }
        let rest = path.dropFirst(prefix.count + 1)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map { ControlEndpoint.percentDecode(String($0)) }
        guard parts.first == "api" else {
            let name: ConsoleAssets.Name? = rest.isEmpty ? .index : ConsoleAssets.Name(rawValue: String(rest))
            guard let name else { return .notFound }
            return method == "GET" || method == "HEAD" ? .asset(name) : .methodNotAllowed(allow: "GET, HEAD")
        }
        let api = Array(parts.dropFirst())
        // By method first: `POST …/deliveries/replay` replays by filter, `GET` of it shows the
        // delivery whose id is `replay`.
        let read = readRoute(api), action = actionRoute(api)
        if method == "POST", let action { return .action(action) }
        if method == "GET" || method == "HEAD", let read { return .read(read) }
        if read != nil { return .methodNotAllowed(allow: "GET, HEAD") }
        if action != nil { return .methodNotAllowed(allow: "POST") }
        return .notFound
    }

    private static func readRoute(_ p: [String]) -> Read? {
        switch (p.count, p.first) {
        case (1, "status"): .status
        case (1, "samples"): .samples
        case (1, "deliveries"): .deliveries
        case (2, "deliveries") where !p[1].isEmpty: .delivery(p[1])
        case (3, "deliveries") where !p[1].isEmpty && p[2] == "output": .output(p[1])
        case (1, "dead"): .dead
        case (1, "functions"): .functions
        default: nil
        }
    }

    private static func actionRoute(_ p: [String]) -> Action? {
        switch (p.count, p.first) {
        case (2, "deliveries") where p[1] == "replay": .replayFiltered
        case (2, "deliveries") where p[1] == "purge": .purgeFiltered
        case (3, "deliveries") where !p[1].isEmpty && p[2] == "replay": .replay(p[1])
        case (3, "deliveries") where !p[1].isEmpty && p[2] == "purge": .purge(p[1])
        case (2, "dead") where p[1] == "replay": .replayDeadGroup
        case (3, "functions") where !p[1].isEmpty && p[2] == "pause": .pause(p[1])
        case (3, "functions") where !p[1].isEmpty && p[2] == "resume": .resume(p[1])
        default: nil
        }
    }
}
