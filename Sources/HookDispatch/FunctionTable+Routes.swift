import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The functions directory read as routes: every function's sidecar, so the route table knows
/// which deliveries each one takes. Read whole whenever something in the directory changed
/// (`FunctionResolver` remembers it); `hookhost functions` reads it each time.
public struct DirectoryRoutes: Sendable {
    /// The executable functions by name, with their settings.
    public let functions: [String: ResolvedFunction]
    /// Their routes.
    public let table: RouteTable
    /// The routes of programs that lack +x: named when a delivery they would have taken is skipped.
    public let notExecutable: [Route]

    /// Whether a sidecar declares `on` or `match`. Without, the choice is by name alone, as it
    /// was before routes, and the resolver keeps its cheaper per-type look-up.
    public var declared: Bool { table.routes.contains(where: \.declared) }

    /// The function for a delivery of `type` (canonical, valid) with `userMetadata`.
    public func decide(type: String, userMetadata: JSON?) -> RouteDecision {
        switch table.decide(type: type, userMetadata: userMetadata) {
        case .function(let name, let why):
            // Every route in the table is one of `functions`.
            guard let f = functions[name] else { return .noFunction(notExecutable: []) }
            return .run(f, why: why)
        case .conflict(let names, let why):
            return .conflict(names, why: why)
        case .none:
            return .noFunction(notExecutable: notExecutable.filter { $0.level(for: type) != nil }.map(\.function).sorted())
        }
    }
}

extension FunctionTable {
    /// The names a route can belong to (`routableNames`) and the sidecars among the entries.
    struct Listing: Sendable {
        let names: [String]
        let sidecars: [String]
    }

    func listing() -> Listing {
        let entries = ((try? DirectoryEntries.names(directory)) ?? []).filter { !$0.hasPrefix(".") }
        let present = Set(entries)
        let names = entries.filter { !$0.hasSuffix(".json") && ($0 == "_default" || EventType.isValid($0)) }.sorted()
        return Listing(names: names, sidecars: names.filter { present.contains($0 + ".json") })
    }

    /// Every function's route, read now.
    public func directoryRoutes() -> DirectoryRoutes { directoryRoutes(listing()) }

    func directoryRoutes(_ listing: Listing) -> DirectoryRoutes {
        var functions: [String: ResolvedFunction] = [:]
        var routes: [Route] = []
        for name in listing.names where FunctionTable.isExecutableFile(directory + "/" + name) {
            let f = FunctionTable.function(at: directory + "/" + name, name: name)
            functions[name] = f
            routes.append(Route(function: name, spec: f.settings.route))
        }
        let notExecutable = notExecutable().map { name in
            Route(function: name, spec: FunctionTable.function(at: directory + "/" + name, name: name).settings.route)
        }
        return DirectoryRoutes(functions: functions, table: RouteTable(routes: routes), notExecutable: notExecutable)
    }

    /// The function for a delivery of `type` with `userMetadata`, the directory read now (the
    /// CLI's answer; the workers go through `FunctionResolver`). An invalid type has none.
    public func route(type: String, userMetadata: JSON?) -> RouteDecision {
        let type = EventType.canonical(type)
        guard EventType.isValid(type) else { return .noFunction(notExecutable: []) }
        return directoryRoutes().decide(type: type, userMetadata: userMetadata)
    }
}
