import HookSupport
import HookSpool
import HookDispatch

/// `hookhost functions route`: which function a delivery would go to, and why — offline, from
/// the functions directory, as the host decides it.
extension FunctionsCommand {
    static func route(table: FunctionTable, typeOption: String?, metadataOption: String?, json: Bool) throws -> Int32 {
        guard let given = typeOption else { throw UsageError("functions route: --type is required (the event type, e.g. batch.succeeded)") }
        let type = EventType.canonical(given)
        guard EventType.isValid(type) else {
            throw UsageError("--type: \"\(given)\" is not an event type (a plain dotted name of letters, digits, _ and -)")
        }
        var metadata: JSON?
        if let text = metadataOption {
            let parsed = try? JSONParser.parse(text)
            guard let parsed, parsed.isObject else {
                throw UsageError("--metadata: must be a JSON object (the delivery's user_metadata), e.g. '{\"job_group\": \"nightly-eval\"}'")
            }
            metadata = parsed
        }
        let decision = table.route(type: type, userMetadata: metadata)
        let runs = decision.function.map { $0.sidecarError == nil } ?? false
        if json {
            print(routeJSON(decision, type: type, metadata: metadata))
        } else {
            print(routeText(decision, type: type))
        }
        return runs ? 0 : 1
    }

    static func routeText(_ d: RouteDecision, type: String) -> String {
        switch d {
        case .run(let f, let why):
            var s = "\(type) → \(f.name) (\(f.path))\n  why: \(why)"
            if let e = f.sidecarError { s += "\n  SIDECAR ERROR: the delivery fails until it is fixed: \(e)" }
            return s
        case .conflict(_, let why):
            return "\(type) → ROUTE CONFLICT: \(why)\n  such a delivery fails (an attempt each time) until then"
        case .noFunction(let notExecutable):
            var s = "\(type) → skipped: no function (no route, nor one named for it, its family or _default)"
            if !notExecutable.isEmpty { s += "\n  \(notExecutable.joined(separator: ", ")) would apply but is not executable (chmod +x)" }
            return s
        }
    }

    static func routeJSON(_ d: RouteDecision, type: String, metadata: JSON?) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", type)
        w.key("metadata"); if let metadata { w.value(metadata) } else { w.null() }
        switch d {
        case .run(let f, let why):
            w.field("outcome", f.sidecarError == nil ? "run" : "sidecar_error")
            w.field("function", f.name)
            w.field("path", f.path)
            w.field("why", why)
            w.key("conflict"); w.null()
            w.field("sidecar_error", optional: f.sidecarError)
            w.key("not_executable"); w.beginArray(); w.endArray()
        case .conflict(let names, let why):
            w.field("outcome", "conflict")
            w.key("function"); w.null()
            w.key("path"); w.null()
            w.field("why", why)
            w.key("conflict"); w.beginArray(); for n in names { w.string(n) }; w.endArray()
            w.key("sidecar_error"); w.null()
            w.key("not_executable"); w.beginArray(); w.endArray()
        case .noFunction(let notExecutable):
            w.field("outcome", "skipped")
            w.key("function"); w.null()
            w.key("path"); w.null()
            w.key("why"); w.null()
            w.key("conflict"); w.null()
            w.key("sidecar_error"); w.null()
            w.key("not_executable"); w.beginArray(); for n in notExecutable { w.string(n) }; w.endArray()
        }
        w.endObject()
        return w.string
    }

    /// ` on=batch.succeeded match=[job_group=nightly-eval tenant.region=eu|us]` for a function's line.
    static func routeSummary(_ spec: RouteSpec) -> String {
        var s = ""
        if let on = spec.on { s += " on=" + on.joined(separator: ",") }
        if !spec.match.isEmpty { s += " match=[" + spec.match.map(\.description).joined(separator: " ") + "]" }
        return s
    }
}
