import HookSupport
import HookSpool
import HookDispatch

/// A function as `hookhost functions --json` and the console show it: its sidecar's values, its
/// routes and conflicts, whether it is paused, and what it effectively runs with.
public enum FunctionReport {
    public static func write(_ f: ResolvedFunction, host: HostConfig, conflicts: [RouteConflict], paused: PauseList = PauseList(), into w: inout JSONWriter) {
        w.beginObject()
        writeFields(f, host: host, conflicts: conflicts, paused: paused, into: &w)
        w.endObject()
    }

    /// The members of `write`'s object, for a caller that adds its own (the console's run counts).
    public static func writeFields(_ f: ResolvedFunction, host: HostConfig, conflicts: [RouteConflict], paused: PauseList, into w: inout JSONWriter) {
        w.field("name", f.name)
        w.field("path", f.path)
        w.field("paused", paused.contains(f.name))
        w.key("timeout"); if let t = f.settings.timeout { w.double(t) } else { w.null() }
        w.key("max_concurrency"); if let v = f.settings.maxConcurrency { w.int(v) } else { w.null() }
        w.key("max_attempts"); if let v = f.settings.maxAttempts { w.int(v) } else { w.null() }
        w.key("fetch"); if let v = f.settings.fetch { w.bool(v) } else { w.null() }
        w.key("env"); w.beginArray(); for (k, _) in f.settings.env { w.string(k) }; w.endArray()
        w.key("retry_later_for"); if let v = f.settings.retryLaterFor { w.double(v) } else { w.null() }
        w.key("pass_env"); w.beginArray(); for k in f.settings.passEnv { w.string(k) }; w.endArray()
        w.key("unknown_keys"); w.beginArray(); for k in f.settings.unknownKeys { w.string(k) }; w.endArray()
        w.key("concurrency")
        if let c = f.settings.concurrency {
            w.beginObject(); w.field("key", c.key.text); w.field("limit", c.limit); w.endObject()
        } else { w.null() }
        w.key("rate")
        if let r = f.settings.rate {
            w.beginObject(); w.field("limit", r.limit); w.key("per"); w.double(r.per); w.field("key", optional: r.key?.text); w.endObject()
        } else { w.null() }
        w.field("sidecar_error", optional: f.sidecarError)
        writeRoute(f.settings.route, into: &w)
        w.key("route_conflicts"); w.beginArray()
        for c in conflicts where c.functions.contains(f.name) { w.string(c.problem) }
        w.endArray()
        let e = EffectiveSettings(f.settings, host: host)
        w.key("effective"); w.beginObject()
        w.key("timeout"); w.double(e.timeout)
        w.field("max_concurrency", e.maxConcurrency)
        w.field("max_attempts", e.maxAttempts)
        w.key("retry_later_for"); w.double(e.retryLaterFor)
        w.key("fetch"); w.bool(e.fetch)
        w.endObject()
    }

    public static func writeRoute(_ spec: RouteSpec, into w: inout JSONWriter) {
        w.key("on")
        if let on = spec.on { w.beginArray(); for t in on { w.string(t) }; w.endArray() } else { w.null() }
        w.key("match")
        if spec.match.isEmpty { w.null() } else {
            w.beginObject()
            for c in spec.match {
                w.key(c.path)
                w.beginArray(); for v in c.values { v.write(into: &w) }; w.endArray()
            }
            w.endObject()
        }
    }

    public static func writeConflict(_ c: RouteConflict, into w: inout JSONWriter) {
        w.beginObject()
        w.key("functions"); w.beginArray(); for n in c.functions { w.string(n) }; w.endArray()
        w.field("type", c.type)
        w.field("keys", c.keys)
        w.field("problem", c.problem)
        w.endObject()
    }
}
