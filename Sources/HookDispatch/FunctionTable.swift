import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// A resolved handler: the executable and its sidecar settings.
public struct ResolvedFunction: Sendable, Equatable {
    /// The function's file name: the type or family it is named for (`batch.succeeded`, `batch`),
    /// `_default`, or any other name when its sidecar routes deliveries to it (`nightly-eval`).
    public let name: String
    public let path: String
    public let settings: FunctionSettings
    /// A sidecar that exists but could not be used; the function then does not run.
    public let sidecarError: String?
}

/// Looks handlers up in the functions directory on every call, so adding, replacing or removing
/// a file takes effect without a restart. The workers go through `FunctionResolver`, which
/// remembers the answers until the directory or one of the files they came from changes.
public struct FunctionTable: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The handler for `type` (already canonical and valid), or nil when none matches.
    public func resolve(_ type: String) -> ResolvedFunction? {
        guard EventType.isValid(type) else { return nil }
        for name in EventType.candidates(type) {
            let path = directory + "/" + name
            guard FunctionTable.isExecutableFile(path) else { continue }
            return FunctionTable.function(at: path, name: name)
        }
        return nil
    }

    /// The function at `path` with its sidecar `path.json` (absent: defaults), as `resolve` finds
    /// it; also for `hookhost run --function PATH`, which names the file instead of a type.
    public static func function(at path: String, name: String) -> ResolvedFunction {
        var settings = FunctionSettings()
        var sidecarError: String?
        var bytes: [UInt8]?
        do { bytes = try SmallFile.read(path + ".json", limit: FunctionTable.maxSidecarBytes) } catch {
            if !error.isMissing { sidecarError = "\(name).json: \(error)" }  // missing: defaults
        }
        if let bytes {
            do { settings = try FunctionSettings.parse(bytes) } catch {
                sidecarError = "\(name).json: \(error)"
                settings.route = (try? FunctionSettings.parseRoute(bytes)) ?? RouteSpec()
            }
        }
        if name == "_default" && !settings.route.isEmpty {
            sidecarError = sidecarError ?? "_default.json: on/match: _default takes every event nothing else takes; give a routed function another name"
            settings.route = RouteSpec()
        }
        return ResolvedFunction(name: name, path: path, settings: settings, sidecarError: sidecarError)
    }

    /// Every executable in the directory (for `hookhost functions`).
    public func all() -> [ResolvedFunction] {
        routableNames().compactMap { name in
            guard let f = resolve(name == "_default" ? "_default" : name), f.name == name else { return nil }
            return f
        }
    }

    /// The names in the directory a type could be routed to (`_default` or a valid type name),
    /// executable or not, sorted.
    public func routableNames() -> [String] {
        let names = ((try? DirectoryEntries.names(directory)) ?? []).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".json") }
        return names.filter { $0 == "_default" || EventType.isValid($0) }.sorted()
    }

    /// Whether the directory exists.
    public var exists: Bool {
        var st = stat()
        return stat(directory, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func isExecutableFile(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// A sidecar is a few settings; anything larger is refused, not cut.
    static let maxSidecarBytes = 1 << 20
}
