import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// What the functions directory says about one event type: the function that runs it, and the
/// candidates that exist but cannot run (named when the delivery is skipped).
struct Resolution: Sendable, Equatable {
    let function: ResolvedFunction?
    let notExecutable: [String]
}

/// A file's identity and the times that change when it is replaced, rewritten or chmod'ed.
struct FileStamp: Sendable, Equatable {
    let dev: UInt64, ino: UInt64, mode: UInt32, size: Int64
    let mtime: Double, ctime: Double

    /// The file at `path` (symlinks followed), or nil when there is none.
    static func of(_ path: String) -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStamp(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino), mode: UInt32(st.st_mode), size: Int64(st.st_size),
                         mtime: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9,
                         ctime: Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9)
    }

    /// The directory only as far as its entries go: its mtime changes when a name is added,
    /// removed or renamed (its ctime also changes for a chmod of the directory itself).
    var asDirectory: FileStamp { FileStamp(dev: dev, ino: ino, mode: 0, size: 0, mtime: mtime, ctime: 0) }
}

/// `FunctionTable.resolve` for the workers, remembered per type until the directory or one of
/// the files the answer came from changes. Adding, removing or renaming a file changes the
/// directory's mtime; a chmod or an in-place edit (handler, sidecar, a symlink's target) changes
/// that file's stamp, and every file that exists among a type's candidates is checked on each
/// use. So a hit costs one stat of the directory (plus one per existing candidate file) instead
/// of a stat, access and open per candidate — and a change still takes effect at once.
///
/// Routes (`on`/`match` in a sidecar) can send a type to any function, so `route` first checks
/// the directory read as routes (`DirectoryRoutes`), remembered the same way and checked on each
/// use against the stamps of every sidecar and its function — an in-place edit can add `on` to
/// any of them, a chmod +x bring one in — and, once a sidecar declares a route, of every function
/// file (a chmod takes a route away). A directory without declared routes costs two stats per
/// sidecar more than the look-up by name; one without sidecars, none.
///
/// Timestamps have a granularity (a kernel tick, or a second on some filesystems): a change in
/// the same tick as the look-up could leave every stamp equal. So an answer is remembered only
/// once all its stamps are `settle` seconds old; until then every use looks up afresh.
final class FunctionResolver: Sendable {
    struct Entry: Sendable {
        let directory: FileStamp
        /// Every candidate (and sidecar) path that existed, with its stamp (nil: dangling symlink).
        let files: [Dependency]
        let resolution: Resolution
    }

    struct Dependency: Sendable, Equatable {
        let path: String
        let stamp: FileStamp?
    }

    /// The directory read as routes, and the files it depends on (stamped before they were read).
    struct RoutesEntry: Sendable {
        let directory: FileStamp
        let files: [Dependency]
        let routes: DirectoryRoutes
    }

    let table: FunctionTable
    private let settle: Double
    private let clock: any WallClock
    private let cache = Mutex<[String: Entry]>([:])
    private let routesCache = Mutex<RoutesEntry?>(nil)
    /// Reads of the whole directory as routes (for tests: a remembered one is not read again).
    let routeReads = Atomic<Int>(0)
    /// Look-ups answered from the cache (for tests).
    let hits = Atomic<Int>(0)
    /// Types remembered at most; past that the cache starts over (types are signed senders' names).
    static let maxEntries = 4096

    init(table: FunctionTable, settle: Double = 2, clock: any WallClock = SystemClock()) {
        self.table = table
        self.settle = settle
        self.clock = clock
    }

    /// The function for a delivery of `type` (canonical and valid) carrying `userMetadata`.
    func route(type: String, userMetadata: JSON?) -> RouteDecision {
        // The directory first: whatever changes after this stat changes its stamp (or a file's).
        let dir = FileStamp.of(table.directory)?.asDirectory
        let routes = directoryRoutes(dir)
        if routes.declared { return routes.decide(type: type, userMetadata: userMetadata) }
        let byName = RouteDecision.byName(resolve(type, directory: dir), type: type)
        guard case .noFunction(let names) = byName else { return byName }
        // A routed function without +x is no candidate by name, yet it is the one that was meant.
        let routed = routes.notExecutable.filter { $0.declared && $0.level(for: type) != nil }.map(\.function)
        return .noFunction(notExecutable: names + routed.filter { !names.contains($0) })
    }

    /// The executable function called `name`, as it is now (nil: none, or not executable): for
    /// deliveries waiting for a slot of it, whatever types it takes.
    func function(named name: String) -> ResolvedFunction? {
        let dir = FileStamp.of(table.directory)?.asDirectory
        let routes = directoryRoutes(dir)
        if routes.declared { return routes.functions[name] }
        // Without routes a function's name is the type it runs: resolving it finds the function.
        guard EventType.isValid(name) else { return nil }
        let f = resolve(name, directory: dir).function
        return f?.name == name ? f : nil
    }

    /// The directory read as routes: remembered while its listing, every sidecar and (with
    /// declared routes) every function file keep their stamps.
    private func directoryRoutes(_ dir: FileStamp?) -> DirectoryRoutes {
        if let dir, let e = routesCache.withLock({ $0 }), e.directory == dir, e.files.allSatisfy({ FileStamp.of($0.path) == $0.stamp }) {
            return e.routes
        }
        routeReads.add(1, ordering: .relaxed)
        let listing = table.listing()
        // Stamped before they are read: a change meanwhile leaves a newer stamp than remembered.
        // Without declared routes only a sidecar can bring one: edited, or its program made
        // executable. With them, any function file added to or taken from the table counts.
        let withSidecar = Set(listing.sidecars)
        let paths = listing.sidecars.flatMap { [table.directory + "/" + $0 + ".json", table.directory + "/" + $0] }
        let others = listing.names.filter { !withSidecar.contains($0) }.map { table.directory + "/" + $0 }
        let stamps = (paths + others).map { Dependency(path: $0, stamp: FileStamp.of($0)) }
        let routes = table.directoryRoutes(listing)
        let files = routes.declared ? stamps : Array(stamps.prefix(paths.count))
        let entry = dir.map { RoutesEntry(directory: $0, files: files, routes: routes) }
        routesCache.withLock { c in
            if let entry, FunctionResolver.isSettled([entry.directory] + entry.files.compactMap(\.stamp), now: clock.now(), settle: settle) {
                c = entry
            } else {
                c = nil
            }
        }
        return routes
    }

    /// The resolution of `type` (canonical and valid) by name alone: exact, family, `_default`.
    func resolve(_ type: String) -> Resolution {
        resolve(type, directory: FileStamp.of(table.directory)?.asDirectory)
    }

    /// `directory`: the directory's stamp, taken before anything else is looked at.
    private func resolve(_ type: String, directory dir: FileStamp?) -> Resolution {
        if let dir, let e = cache.withLock({ $0[type] }), FunctionResolver.stillValid(e, directory: dir, current: FileStamp.of) {
            hits.add(1, ordering: .relaxed)
            return e.resolution
        }
        let files = table.existingFiles(candidatesOf: type).map { Dependency(path: $0, stamp: FileStamp.of($0)) }
        let function = table.resolve(type)
        let resolution = Resolution(function: function, notExecutable: function == nil ? table.notExecutable(candidatesOf: type) : [])
        let entry = dir.map { Entry(directory: $0, files: files, resolution: resolution) }
        cache.withLock { c in
            if let entry, FunctionResolver.isSettled(entry, now: clock.now(), settle: settle) {
                if c.count >= FunctionResolver.maxEntries { c.removeAll() }
                c[type] = entry
            } else {
                c[type] = nil
            }
        }
        return resolution
    }

    /// Whether a remembered answer still holds: the same directory listing and the same files.
    static func stillValid(_ e: Entry, directory: FileStamp, current: (String) -> FileStamp?) -> Bool {
        e.directory == directory && e.files.allSatisfy { current($0.path) == $0.stamp }
    }

    /// Whether every stamp is old enough that a later change cannot carry the same time.
    static func isSettled(_ e: Entry, now: Double, settle: Double) -> Bool {
        isSettled([e.directory] + e.files.compactMap(\.stamp), now: now, settle: settle)
    }

    static func isSettled(_ stamps: [FileStamp], now: Double, settle: Double) -> Bool {
        stamps.allSatisfy { s in now - max(s.mtime, s.ctime) >= settle }
    }
}

extension FunctionTable {
    /// The candidate files (and sidecars) of `type` that exist as directory entries (`lstat`):
    /// what a look-up depends on besides the directory listing itself.
    func existingFiles(candidatesOf type: String) -> [String] {
        guard EventType.isValid(type) else { return [] }
        var out: [String] = []
        var st = stat()
        for name in EventType.candidates(type) {
            for path in [directory + "/" + name, directory + "/" + name + ".json"] where lstat(path, &st) == 0 {
                out.append(path)
            }
        }
        return out
    }
}
