import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The workers' cached function look-up: remembered answers, and every kind of change still
/// taking effect at once. No timing: the settle window is 0 and the directory's mtime is set
/// into the past, so a remembered answer and a later change can never carry the same stamp.
@Suite struct FunctionResolverTests {
    /// Sets the directory's mtime an hour back (its entries then change it to now).
    func age(_ dir: String) {
        var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, dir, &times, 0)
    }

    func resolver(_ dir: String) -> FunctionResolver { FunctionResolver(table: FunctionTable(directory: dir), settle: 0) }

    @Test func aNegativeAnswerIsRememberedAndANewHandlerIsPickedUp() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        age(dir)
        let r = resolver(dir)
        #expect(r.resolve("batch.succeeded").function == nil)
        #expect(r.resolve("batch.succeeded").function == nil)
        #expect(r.hits.load(ordering: .relaxed) == 1)
        writeFile(dir + "/batch", "#!/bin/sh\n", mode: 0o755)
        #expect(r.resolve("batch.succeeded").function?.name == "batch")
    }

    @Test func aRemovedOrRenamedHandlerIsNoLongerUsed() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/batch.succeeded", "#!/bin/sh\n", mode: 0o755)
        writeFile(dir + "/_default", "#!/bin/sh\n", mode: 0o755)
        age(dir)
        let r = resolver(dir)
        #expect(r.resolve("batch.succeeded").function?.name == "batch.succeeded")
        #expect(r.resolve("batch.succeeded").function?.name == "batch.succeeded")
        #expect(r.hits.load(ordering: .relaxed) == 1)
        unlink(dir + "/batch.succeeded")
        #expect(r.resolve("batch.succeeded").function?.name == "_default")
        age(dir)
        #expect(r.resolve("batch.succeeded").function?.name == "_default")
        rename(dir + "/_default", dir + "/other")
        #expect(r.resolve("batch.succeeded").function == nil)
    }

    @Test func aNewSidecarIsPickedUp() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/ping", "#!/bin/sh\n", mode: 0o755)
        age(dir)
        let r = resolver(dir)
        #expect(r.resolve("ping").function?.settings.timeout == nil)
        writeFile(dir + "/ping.json", #"{"timeout": 7}"#)
        #expect(r.resolve("ping").function?.settings.timeout == 7)
    }

    @Test func aSkipStillNamesAHandlerWithoutExecutePermission() {
        let dir = makeTempDir("resolver")
        defer { FileSystem.removeTree(dir) }
        writeFile(dir + "/ping", "#!/bin/sh\n", mode: 0o644)
        let r = resolver(dir)
        #expect(r.resolve("ping") == Resolution(function: nil, notExecutable: ["ping"]))
        chmod(dir + "/ping", 0o755)
        #expect(r.resolve("ping").function?.name == "ping")
    }

    // MARK: - Routes

    /// Sets a file's times an hour back, so a later in-place edit cannot carry the same stamp.
    func ageFile(_ path: String) {
        var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, 0)
    }

    func meta(_ text: String) -> JSON { try! JSONParser.parse(text) }

    static let nightly = #"{"on": ["batch.succeeded"], "match": {"job_group": "nightly-eval"}}"#

    @Test func aRoutedFunctionTakesWhatItMatchesAndTheNameTheRest() {
        let dir = makeTempDir("routes")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "nightly-eval", sidecar: Self.nightly)
        writeNoopFunction(dir, "batch.succeeded")
        age(dir)
        let r = resolver(dir)
        let d = r.route(type: "batch.succeeded", userMetadata: meta(#"{"job_group": "nightly-eval"}"#))
        #expect(d.function?.name == "nightly-eval")
        #expect(d == .run(d.function!, why: "nightly-eval: on batch.succeeded, matched job_group=nightly-eval (1 key)"))
        #expect(r.route(type: "batch.succeeded", userMetadata: meta(#"{"job_group": "weekly"}"#)).function?.name == "batch.succeeded")
        #expect(r.route(type: "batch.succeeded", userMetadata: nil).function?.name == "batch.succeeded")
        // Remembered: the directory is read as routes once while nothing changes.
        #expect(r.routeReads.load(ordering: .relaxed) == 1)
        #expect(r.function(named: "nightly-eval")?.settings.route.on == ["batch.succeeded"])
        #expect(r.function(named: "nightly") == nil)
    }

    @Test func aRouteAddedLaterAppliesAtOnce() {
        let dir = makeTempDir("routes")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "batch")
        age(dir)
        let r = resolver(dir)
        let m = meta(#"{"job_group": "nightly-eval"}"#)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "batch")
        writeNoopFunction(dir, "nightly-eval", sidecar: Self.nightly)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "nightly-eval")
        unlink(dir + "/nightly-eval")
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "batch")
    }

    @Test func aSidecarEditedInPlaceToRouteIsSeen() {
        let dir = makeTempDir("routes")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "batch")
        writeNoopFunction(dir, "nightly-eval", sidecar: #"{"timeout": 5}"#)
        ageFile(dir + "/nightly-eval.json")
        age(dir)
        let r = resolver(dir)
        let m = meta(#"{"job_group": "nightly-eval"}"#)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "batch")
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "batch")
        #expect(r.routeReads.load(ordering: .relaxed) == 1)
        // Rewritten in place: the directory's listing does not change, the sidecar's stamp does.
        writeFile(dir + "/nightly-eval.json", Self.nightly)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "nightly-eval")
        ageFile(dir + "/nightly-eval.json")
        writeFile(dir + "/nightly-eval.json", #"{"on": "batch.succeeded", "match": {"job_group": "other"}}"#)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "batch")
    }

    @Test func aChmodTakesARouteAwayAndGivesItBack() {
        let dir = makeTempDir("routes")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "batch")
        writeNoopFunction(dir, "nightly-eval", sidecar: Self.nightly)
        age(dir)
        let r = resolver(dir)
        let m = meta(#"{"job_group": "nightly-eval"}"#)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "nightly-eval")
        chmod(dir + "/nightly-eval", 0o644)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "batch")
        #expect(r.function(named: "nightly-eval") == nil)
        chmod(dir + "/nightly-eval", 0o755)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "nightly-eval")
        // The only routed function made executable again after the directory had none.
        chmod(dir + "/nightly-eval", 0o644)
        unlink(dir + "/batch")
        #expect(r.route(type: "batch.succeeded", userMetadata: m) == .noFunction(notExecutable: ["nightly-eval"]))
        chmod(dir + "/nightly-eval", 0o755)
        #expect(r.route(type: "batch.succeeded", userMetadata: m).function?.name == "nightly-eval")
    }

    @Test func aTieIsAConflictAndDefaultCannotRoute() {
        let dir = makeTempDir("routes")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "a", sidecar: #"{"on": "ping"}"#)
        writeNoopFunction(dir, "b", sidecar: #"{"on": ["ping", "pong"]}"#)
        writeNoopFunction(dir, "_default", sidecar: #"{"on": "pong"}"#)
        let r = resolver(dir)
        #expect(r.route(type: "ping", userMetadata: nil) == .conflict(["a", "b"], why: "a and b both match ping with 0 keys; make one more specific"))
        // `_default` keeps taking what nothing else takes; its `on` makes its sidecar unusable.
        let d = r.route(type: "other", userMetadata: nil).function
        #expect(d?.name == "_default")
        #expect(d?.sidecarError?.contains("_default") == true)
        #expect(r.route(type: "pong", userMetadata: nil).function?.name == "b")
        #expect(FunctionTable(directory: dir).directoryRoutes().table.conflicts() == [RouteConflict(functions: ["a", "b"], type: "ping", keys: 0)])
    }

    @Test func anUnusableSidecarKeepsItsRoute() {
        let dir = makeTempDir("routes")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "batch")
        writeNoopFunction(dir, "nightly-eval", sidecar: #"{"on": "batch.succeeded", "match": {"job_group": "nightly-eval"}, "timeout": -1}"#)
        let f = resolver(dir).route(type: "batch.succeeded", userMetadata: meta(#"{"job_group": "nightly-eval"}"#)).function
        // Its deliveries fail naming the sidecar, rather than running another function.
        #expect(f?.name == "nightly-eval")
        #expect(f?.sidecarError?.contains("timeout") == true)
    }

    @Test func withoutRoutesTheByNameLookUpIsKept() {
        let dir = makeTempDir("routes")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "batch", sidecar: #"{"timeout": 5}"#)
        writeNoopFunction(dir, "ping")
        age(dir)
        let r = resolver(dir)
        #expect(r.route(type: "batch.failed", userMetadata: nil) == .run(r.resolve("batch.failed").function!, why: "family of batch.failed: no function named batch.failed"))
        #expect(r.route(type: "ping", userMetadata: nil).function?.name == "ping")
        #expect(r.route(type: "ping", userMetadata: nil).function?.name == "ping")
        #expect(r.routeReads.load(ordering: .relaxed) == 1)
        #expect(r.hits.load(ordering: .relaxed) >= 2)
        #expect(r.function(named: "batch")?.settings.timeout == 5)
        #expect(r.function(named: "nope") == nil)
    }

    // MARK: - The rules, from literals

    func stamp(_ t: Double, ino: UInt64 = 1) -> FileStamp { FileStamp(dev: 1, ino: ino, mode: 0o100755, size: 10, mtime: t, ctime: t) }

    @Test func anAnswerIsRememberedOnlyOnceEveryStampIsSettled() {
        let e = FunctionResolver.Entry(directory: stamp(100), files: [.init(path: "/f/a", stamp: stamp(105)), .init(path: "/f/b", stamp: nil)],
                                       resolution: Resolution(function: nil, notExecutable: []))
        #expect(FunctionResolver.isSettled(e, now: 107, settle: 2))
        #expect(!FunctionResolver.isSettled(e, now: 106, settle: 2))  // /f/a changed 1 s ago
        #expect(!FunctionResolver.isSettled(e, now: 90, settle: 2))   // stamps from the future: never trusted
    }

    @Test func anyChangedStampInvalidates() {
        let e = FunctionResolver.Entry(directory: stamp(100), files: [.init(path: "/f/a", stamp: stamp(105)), .init(path: "/f/b", stamp: nil)],
                                       resolution: Resolution(function: nil, notExecutable: []))
        let same: (String) -> FileStamp? = { $0 == "/f/a" ? self.stamp(105) : nil }
        #expect(FunctionResolver.stillValid(e, directory: stamp(100), current: same))
        #expect(!FunctionResolver.stillValid(e, directory: stamp(101), current: same))
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100, ino: 2), current: same))
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100)) { $0 == "/f/a" ? self.stamp(106) : nil })  // chmod, edit
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100)) { _ in nil })  // a file gone
        #expect(!FunctionResolver.stillValid(e, directory: stamp(100)) { _ in self.stamp(105) })  // a dangling link's target appeared
    }
}
