import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Which function a delivery goes to, with the functions directory read: the worker's, the
/// fetch stage's and `hookhost functions route`'s answer.
public enum RouteDecision: Sendable, Equatable {
    /// `why` for people: "nightly-eval: on batch.succeeded, matched job_group=nightly-eval (1 key)".
    case run(ResolvedFunction, why: String)
    /// Two or more routes tie; the delivery's attempt fails naming them (sorted).
    case conflict([String], why: String)
    /// No function; `notExecutable` names programs that would have applied but lack +x.
    case noFunction(notExecutable: [String])

    /// The function that runs, if one does.
    public var function: ResolvedFunction? {
        if case .run(let f, _) = self { return f }
        return nil
    }

    /// The answer of a directory without declared routes: the function `resolve` found by name.
    static func byName(_ r: Resolution, type: String) -> RouteDecision {
        guard let f = r.function else { return .noFunction(notExecutable: r.notExecutable) }
        let route = Route(function: f.name)
        let why = RouteTable.why(route, values: [], type: type, level: route.level(for: type) ?? .fallback, missedKeys: 0)
        return .run(f, why: why)
    }
}
