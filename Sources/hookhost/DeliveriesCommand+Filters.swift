import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost deliveries`' filters and option checks: what the replay/purge/list requests carry.
extension DeliveriesCommand {
    static func replayRequest(_ a: Arguments, now: Double) throws -> (method: String, path: String) {
        let filtered = filterOptions.contains { a.options[$0] != nil }
        if a.options["--id"] != nil && a.positional.count >= 2 { throw UsageError("replay: give the ID once (ID or --id ID)") }
        if let id = a.options["--id"] ?? (a.positional.count >= 2 ? a.positional[1] : nil) {
            guard !id.isEmpty else { throw UsageError("--id takes a delivery id") }
            if filtered || a.flags.contains("--dry-run") {
                throw UsageError("replay takes an ID or filters (--state S …, --dry-run), not both")
            }
            return ("POST", "/deliveries/\(ControlEndpoint.percentEncode(id))/replay")
        }
        guard let state = a.options["--state"] else {
            throw UsageError(filtered || a.flags.contains("--dry-run")
                ? "replay by filter needs --state (dead, done or skipped)"
                : "deliveries replay needs an ID, or --state S with filters")
        }
        try requireFinished(state, for: "replay", unfinished: "unfinished deliveries run anyway")
        let q = try filterQuery(a, now: now).joined(separator: "&")
        // A dry run only reads: it lists what the replay would take, with the same filters.
        return a.flags.contains("--dry-run") ? ("GET", "/deliveries?" + q) : ("POST", "/deliveries/replay?" + q)
    }

    /// Replay and purge act on finished deliveries only.
    /// A purge also takes handed_over (gone to another replica); a replay never does (it would
    /// run here what the other replica runs).
    static func requireFinished(_ state: String, for action: String, unfinished: String) throws(UsageError) {
        let finished: [DeliveryState] = action == "purge" ? [.dead, .done, .skipped, .handedOver] : [.dead, .done, .skipped]
        guard let s = DeliveryState(rawValue: state), finished.contains(s) else {
            let names = finished.map(\.rawValue)
            throw UsageError("\(action) --state takes \(names.dropLast().joined(separator: ", ")) or \(names.last!), not \"\(state)\" (\(unfinished))")
        }
    }

    /// The filter options as query parameters; a value the host would not understand is refused
    /// here, naming the option.
    static func filterQuery(_ a: Arguments, now: Double) throws(UsageError) -> [String] {
        var q: [String] = []
        if let s = a.options["--state"] {
            guard DeliveryState(rawValue: s) != nil else {
                throw UsageError("--state must be one of \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            q.append("state=" + ControlEndpoint.percentEncode(s))
        }
        for (option, name) in [("--type", "type"), ("--function", "function")] {
            guard let v = a.options[option] else { continue }
            guard !v.isEmpty else { throw UsageError("\(option) is empty") }
            q.append(name + "=" + ControlEndpoint.percentEncode(v))
        }
        let since = try a.options["--since"].map { text throws(UsageError) in try TimeArgument.parse(text, option: "--since", now: now) }
        let until = try a.options["--until"].map { text throws(UsageError) in try TimeArgument.parse(text, option: "--until", now: now) }
        if let since, let until, until <= since { throw UsageError("--until must be later than --since") }
        if let since { q.append("since=" + String(since)) }
        if let until { q.append("until=" + String(until)) }
        return q
    }

    /// Options that only some subcommands take are refused elsewhere, not ignored.
    static func checkOptions(_ a: Arguments, for sub: String) throws(UsageError) {
        let filtering: Set<String> = ["list", "replay", "purge"]
        let only: [(String, Set<String>)] = [("--state", filtering), ("--function", filtering), ("--since", filtering), ("--until", filtering),
                                             ("--limit", ["list"]), ("--root", ["list"]), ("--id", ["replay"]),
                                             ("--type", filtering.union(["retry-dead"])), ("--dry-run", ["purge", "replay"]), ("--dead", ["purge"])]
        for (option, subs) in only where (a.options[option] != nil || a.flags.contains(option)) && !subs.contains(sub) {
            throw UsageError("\(option) is not an option of deliveries \(sub)")
        }
    }

    /// The answer for people. `noun`: what a count counts ("dead letters" when only they are selected).
}
