import Testing
@testable import HookSupport
@testable import HookDispatch
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookhostKit

/// Choosing a function by event type and `user_metadata`, and finding routes that could tie —
/// from literals: sidecar text in, decisions out, no files.
@Suite struct RouteTableTests {
    /// The route of function `name` with sidecar `sidecar` (nil: none).
    func route(_ name: String, _ sidecar: String? = nil) throws -> Route {
        let spec = try sidecar.map { try FunctionSettings.parse(Array($0.utf8)).route } ?? RouteSpec()
        return Route(function: name, spec: spec)
    }

    func table(_ routes: [(String, String?)]) throws -> RouteTable {
        RouteTable(routes: try routes.map { try route($0.0, $0.1) })
    }

    func metadata(_ text: String) throws -> JSON { try JSONParser.parse(text) }

    func chosen(_ t: RouteTable, _ type: String, _ meta: String?) throws -> String? {
        switch t.decide(type: type, userMetadata: try meta.map(metadata)) {
        case .function(let name, _): return name
        case .conflict(let names, _): return "conflict:" + names.joined(separator: ",")
        case .none: return nil
        }
    }

    // MARK: - Matching

    @Test func dottedPathsReachIntoNestedObjects() throws {
        let t = try table([("eu", #"{"on": "batch.succeeded", "match": {"tenant.region": "eu"}}"#), ("batch", nil)])
        #expect(try chosen(t, "batch.succeeded", #"{"tenant": {"region": "eu"}}"#) == "eu")
        #expect(try chosen(t, "batch.succeeded", #"{"tenant": {"region": "us"}}"#) == "batch")
        // A key spelled with the dot is not the path: paths walk objects.
        #expect(try chosen(t, "batch.succeeded", #"{"tenant.region": "eu"}"#) == "batch")
        #expect(try chosen(t, "batch.succeeded", #"{"tenant": "eu"}"#) == "batch")
        #expect(try chosen(t, "batch.succeeded", #"{"tenant": {"region": {"name": "eu"}}}"#) == "batch")
        #expect(try chosen(t, "batch.succeeded", nil) == "batch")
    }

    @Test func aListMeansAnyOfItsValues() throws {
        let t = try table([("west", #"{"on": ["batch.succeeded"], "match": {"region": ["eu", "us"]}}"#), ("_default", nil)])
        #expect(try chosen(t, "batch.succeeded", #"{"region": "eu"}"#) == "west")
        #expect(try chosen(t, "batch.succeeded", #"{"region": "us"}"#) == "west")
        #expect(try chosen(t, "batch.succeeded", #"{"region": "ap"}"#) == "_default")
        // A list in the metadata is not one of the values.
        #expect(try chosen(t, "batch.succeeded", #"{"region": ["eu"]}"#) == "_default")
    }

    @Test func numbersCompareByValueAndNeverEqualStrings() throws {
        let t = try table([("one", #"{"on": "ping", "match": {"n": 1}}"#), ("text", #"{"on": "ping", "match": {"s": "1"}}"#)])
        for n in ["1", "1.0", "1e0", "10e-1", "0.1E1", "1.000"] {
            #expect(try chosen(t, "ping", #"{"n": \#(n)}"#) == "one", "\(n)")
        }
        #expect(try chosen(t, "ping", #"{"n": "1"}"#) == nil)
        #expect(try chosen(t, "ping", #"{"n": -1}"#) == nil)
        #expect(try chosen(t, "ping", #"{"s": 1}"#) == nil)
        #expect(try chosen(t, "ping", #"{"s": "1"}"#) == "text")
        // Past 2^53 a Double would make these one number; they are two job ids.
        let big = try table([("big", #"{"on": "ping", "match": {"id": 12345678901234567890}}"#)])
        #expect(try chosen(big, "ping", #"{"id": 12345678901234567890}"#) == "big")
        #expect(try chosen(big, "ping", #"{"id": 12345678901234567891}"#) == nil)
        #expect(try chosen(big, "ping", #"{"id": 1e99999999999999999999}"#) == nil)
        #expect(MatchValue(.number("-0")) == MatchValue(.number("0.0")))
    }

    @Test func nullBoolsAndMissingKeys() throws {
        let t = try table([("nul", #"{"on": "ping", "match": {"a": null}}"#), ("yes", #"{"on": "ping", "match": {"b": true}}"#)])
        #expect(try chosen(t, "ping", #"{"a": null}"#) == "nul")
        #expect(try chosen(t, "ping", #"{}"#) == nil)  // null matches only a null that is there
        #expect(try chosen(t, "ping", #"{"a": false}"#) == nil)
        #expect(try chosen(t, "ping", #"{"b": true}"#) == "yes")
        #expect(try chosen(t, "ping", #"{"b": "true"}"#) == nil)
        #expect(try chosen(t, "ping", #"[1]"#) == nil)
    }

    // MARK: - Choosing

    @Test func withoutRoutesTheNameDecidesAsBefore() throws {
        let t = try table([("batch.succeeded", nil), ("batch", nil), ("_default", nil), ("nightly-eval", nil)])
        #expect(try chosen(t, "batch.succeeded", #"{"job_group": "x"}"#) == "batch.succeeded")
        #expect(try chosen(t, "batch.failed", nil) == "batch")
        #expect(try chosen(t, "batch", nil) == "batch")
        #expect(try chosen(t, "video.generated", nil) == "_default")
        #expect(try chosen(t, "nightly-eval", nil) == "nightly-eval")
        #expect(try chosen(try table([("batch", nil)]), "video.generated", nil) == nil)
    }

    @Test func moreKeysBeatFewerThenExactBeatsFamilyThenDefault() throws {
        let t = try table([
            ("two", #"{"on": "batch", "match": {"job_group": "nightly", "tenant": "acme"}}"#),
            ("one", #"{"on": "batch.succeeded", "match": {"job_group": "nightly"}}"#),
            ("family-one", #"{"on": "batch", "match": {"job_group": "weekly"}}"#),
            ("batch.succeeded", nil), ("batch", nil), ("_default", nil),
        ])
        // A family route with two keys beats an exact one with one.
        #expect(try chosen(t, "batch.succeeded", #"{"job_group": "nightly", "tenant": "acme"}"#) == "two")
        #expect(try chosen(t, "batch.succeeded", #"{"job_group": "nightly"}"#) == "one")
        // One key at the family level beats the exact name with none.
        #expect(try chosen(t, "batch.succeeded", #"{"job_group": "weekly"}"#) == "family-one")
        #expect(try chosen(t, "batch.succeeded", #"{"job_group": "other"}"#) == "batch.succeeded")
        #expect(try chosen(t, "batch.failed", #"{"job_group": "nightly"}"#) == "batch")
        #expect(try chosen(t, "interaction.completed", #"{"job_group": "nightly"}"#) == "_default")
    }

    @Test func aFunctionWithOnIsNoLongerChosenByItsName() throws {
        let t = try table([("batch.succeeded", #"{"on": "interaction.completed"}"#), ("_default", nil)])
        #expect(try chosen(t, "interaction.completed", nil) == "batch.succeeded")
        #expect(try chosen(t, "batch.succeeded", nil) == "_default")
        // `match` alone keeps the name as the type.
        let m = try table([("batch", #"{"match": {"k": 1}}"#)])
        #expect(try chosen(m, "batch.failed", #"{"k": 1}"#) == "batch")
        #expect(try chosen(m, "batch.failed", #"{"k": 2}"#) == nil)
    }

    @Test func anEqualTieAtRunTimeIsAConflictNamingBoth() throws {
        let t = try table([
            ("by-group", #"{"on": "batch.succeeded", "match": {"job_group": "nightly"}}"#),
            ("by-tenant", #"{"on": "batch.succeeded", "match": {"tenant": "acme"}}"#),
            ("batch.succeeded", nil),
        ])
        let d = t.decide(type: "batch.succeeded", userMetadata: try metadata(#"{"job_group": "nightly", "tenant": "acme"}"#))
        #expect(d == .conflict(["by-group", "by-tenant"], why: "by-group and by-tenant both match batch.succeeded with 1 key; make one more specific"))
        #expect(try chosen(t, "batch.succeeded", #"{"job_group": "nightly"}"#) == "by-group")
        let three = try table([("c", #"{"on": "ping"}"#), ("a", #"{"on": "ping"}"#), ("ping", nil)])
        #expect(three.decide(type: "ping", userMetadata: nil) == .conflict(["a", "c", "ping"], why: "a, c and ping all match ping with 0 keys; make one more specific"))
    }

    @Test func theWhySaysWhatMatched() throws {
        let t = try table([
            ("nightly-eval", #"{"on": ["batch.succeeded"], "match": {"job_group": "nightly-eval"}}"#),
            ("regions", #"{"on": "batch", "match": {"tenant.region": ["eu", "us"], "tier": 2}}"#),
            ("everything-batch", #"{"on": "batch"}"#),
            ("batch", #"{"on": "video"}"#), ("interaction", nil), ("_default", nil),
        ])
        func why(_ type: String, _ meta: String?) throws -> String {
            if case .function(_, let why) = t.decide(type: type, userMetadata: try meta.map(metadata)) { return why }
            return "?"
        }
        // `regions` applies to the type and has two keys, which did not all match.
        #expect(try why("batch.succeeded", #"{"job_group": "nightly-eval"}"#)
                == "nightly-eval: on batch.succeeded, matched job_group=nightly-eval (1 key), no route matched more keys")
        #expect(try why("batch.failed", #"{"tenant": {"region": "us"}, "tier": 2.0}"#)
                == "regions: on batch, the family of batch.failed, matched tenant.region=us, tier=2.0 (2 keys)")
        #expect(try why("batch.succeeded", #"{"job_group": "other"}"#)
                == "everything-batch: on batch, the family of batch.succeeded, no route matched more keys")
        #expect(try why("interaction.completed", nil) == "family of interaction.completed: no function named interaction.completed")
        #expect(try why("video", nil) == "batch: on video")
        #expect(try why("ping", nil) == "_default: no function named ping")
        let plain = try table([("nightly-eval", #"{"on": ["batch.succeeded"], "match": {"job_group": "nightly-eval"}}"#), ("batch", nil)])
        #expect(plain.decide(type: "batch.succeeded", userMetadata: try metadata(#"{"job_group": "nightly-eval"}"#))
                == .function("nightly-eval", why: "nightly-eval: on batch.succeeded, matched job_group=nightly-eval (1 key)"))
        #expect(plain.decide(type: "batch.succeeded", userMetadata: nil)
                == .function("batch", why: "batch: family of batch.succeeded, no route matched more keys"))
    }

    // MARK: - Conflicts the table can show before any delivery

    func conflicts(_ routes: [(String, String?)]) throws -> [RouteConflict] { try table(routes).conflicts() }

    @Test func routesThatCanTieAreConflicts() throws {
        // The same key with overlapping values.
        let same = try conflicts([("a", #"{"on": "batch.succeeded", "match": {"g": ["x", "y"]}}"#),
                                  ("b", #"{"on": "batch.succeeded", "match": {"g": ["y", "z"]}}"#)])
        #expect(same == [RouteConflict(functions: ["a", "b"], type: "batch.succeeded", keys: 1)])
        #expect(same.first?.problem == "a and b can both match batch.succeeded with 1 key; such a delivery fails until one is made more specific")
        // Different keys, as many: metadata can hold both.
        #expect(try conflicts([("a", #"{"on": "batch.succeeded", "match": {"g": "x"}}"#),
                               ("b", #"{"on": "batch.succeeded", "match": {"t": "y"}}"#)]).count == 1)
        // A declared route without keys next to the function named for the type.
        #expect(try conflicts([("logger", #"{"on": "batch.succeeded"}"#), ("batch.succeeded", nil)])
                == [RouteConflict(functions: ["batch.succeeded", "logger"], type: "batch.succeeded", keys: 0)])
        // Two lists sharing an entry.
        #expect(try conflicts([("a", #"{"on": ["batch.succeeded", "interaction"]}"#), ("b", #"{"on": ["interaction.completed", "interaction"]}"#)])
                == [RouteConflict(functions: ["a", "b"], type: "interaction", keys: 0)])
        #expect(try conflicts([("a", #"{"on": ["batch.succeeded", "batch.failed"]}"#), ("b", #"{"on": ["batch.failed"]}"#)])
                == [RouteConflict(functions: ["a", "b"], type: "batch.failed", keys: 0)])
        #expect(try conflicts([("a", #"{"on": "batch"}"#), ("batch", nil)]) == [RouteConflict(functions: ["a", "batch"], type: "batch", keys: 0)])
        #expect(try conflicts([("a", #"{"on": ["batch.succeeded", "batch"]}"#), ("b", #"{"on": ["batch", "batch.succeeded"]}"#)]).first?.type
                == "batch")
        // 1 and 1.0 are one value.
        #expect(try conflicts([("a", #"{"on": "ping", "match": {"n": 1}}"#), ("b", #"{"on": "ping", "match": {"n": 1.0}}"#)]).count == 1)
    }

    @Test func routesThatCannotTieAreNot() throws {
        let none: [[(String, String?)]] = [
            // Disjoint values of the same key.
            [("a", #"{"on": "batch.succeeded", "match": {"g": ["x", "y"]}}"#), ("b", #"{"on": "batch.succeeded", "match": {"g": "z"}}"#)],
            // 1 and "1" differ.
            [("a", #"{"on": "ping", "match": {"n": 1}}"#), ("b", #"{"on": "ping", "match": {"n": "1"}}"#)],
            // Different specificity: more keys.
            [("a", #"{"on": "batch.succeeded", "match": {"g": "x"}}"#), ("b", #"{"on": "batch.succeeded", "match": {"g": "x", "t": 1}}"#)],
            // Different specificity: exact against family.
            [("a", #"{"on": "batch.succeeded"}"#), ("b", #"{"on": "batch"}"#)],
            [("batch.succeeded", nil), ("batch", nil), ("_default", nil)],
            // Different types.
            [("a", #"{"on": "batch.succeeded"}"#), ("b", #"{"on": "batch.failed"}"#)],
            // One path inside the other: a scalar and an object cannot be at the same place.
            [("a", #"{"on": "ping", "match": {"tenant": "x"}}"#), ("b", #"{"on": "ping", "match": {"tenant.region": "eu"}}"#)],
        ]
        for routes in none {
            #expect(try conflicts(routes).isEmpty, "\(routes.map(\.0))")
        }
    }
}
