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

    /// Removes a file or a directory tree without following symlinks. Entries are removed by
    /// their raw names relative to an open directory (openat/unlinkat), never through a String
    /// path: a name that is not UTF-8 (a function's download, a tar extract) must go too.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { unlink(path); return }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        removeContents(ofDirectory: fd, depth: 0)
        close(fd)
        rmdir(path)
    }

    /// Deeper than this, a tree is left in place: each level holds one descriptor open.
    static let maxRemovalDepth = 256

    /// Empties the directory open as `fd` (which stays open).
    private static func removeContents(ofDirectory fd: Int32, depth: Int) {
        guard depth < maxRemovalDepth, let names = try? DirectoryEntries.rawNames(ofDirectory: fd) else { return }
        for name in names {
            withCName(name) { cname in
                // Linux answers EISDIR for a directory; then empty it first and remove it as one.
                guard unlinkat(fd, cname, 0) != 0, errno == EISDIR else { return }
                let sub = openat(fd, cname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if sub >= 0 {
                    removeContents(ofDirectory: sub, depth: depth + 1)
                    close(sub)
                }
                unlinkat(fd, cname, AT_REMOVEDIR)
            }
        }
    }

    /// `name` as a NUL-terminated C string for the duration of `body`.
    private static func withCName<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (name + [0]).withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { body($0) }
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
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
