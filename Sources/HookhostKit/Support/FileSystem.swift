import Glibc

/// Small filesystem helpers over Glibc (no Foundation in the host library).
public enum FileSystem {
    /// Creates `path` and missing parents with mode 0700.
    public static func makeDirectories(_ path: String) -> Bool {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR }
        var partial = path.hasPrefix("/") ? "" : "."
        for comp in path.split(separator: "/") {
            partial += "/" + comp
            if mkdir(partial, 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    /// Removes a file or a directory tree without following symlinks.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for n in (try? DirectoryEntries.names(path)) ?? [] { removeTree(path + "/" + n) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Whole file as bytes; nil when it is missing, unreadable or larger than `limit` (use
    /// `SmallFile.read` where the reason must be reported).
    public static func read(_ path: String, limit: Int = 16 << 20) -> [UInt8]? { try? SmallFile.read(path, limit: limit) }

    /// Absolute form of `path` against the working directory.
    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(cString: buf)
        return path == "." ? cwd : cwd + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }

    /// The whole process environment (a name set twice keeps its first value, as getenv does).
    public static func environment() -> [String: String] {
        var out: [String: String] = [:]
        guard var p = Optional(environ) else { return [:] }
        while let entry = p.pointee {
            let kv = String(cString: entry)
            if let eq = kv.firstIndex(of: "=") {
                let name = String(kv[..<eq])
                if out[name] == nil { out[name] = String(kv[kv.index(after: eq)...]) }
            }
            p += 1
        }
        return out
    }

    /// An environment variable.
    public static func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}
