import Foundation

/// `<base>/<name>/`, published all at once: the files are written into a hidden sibling
/// (`.<name>.partial.<pid>`) that is renamed into place when complete. A reader never sees a
/// half-written summary, and a delivery that already has its directory is done — that is what
/// makes a second run of the same delivery (at-least-once) a no-op.
struct SummaryDirectory {
    let base: String
    let name: String

    var path: String { base + "/" + name }
    var summaryPath: String { path + "/summary.json" }

    /// The summary of an earlier, completed run of this delivery, if there is one.
    func existingSummary() -> Data? {
        FileManager.default.contents(atPath: summaryPath)
    }

    /// A fresh partial directory; leftovers of this delivery's crashed runs are removed first.
    func makePartial() throws -> String {
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: base, withIntermediateDirectories: true)
            for entry in try files.contentsOfDirectory(atPath: base) where entry.hasPrefix(".\(name).partial.") {
                try? files.removeItem(atPath: base + "/" + entry)
            }
        } catch {
            throw OutputError(path: base, reason: String(describing: error))
        }
        let partial = base + "/.\(name).partial.\(getpid())"
        guard mkdir(partial, 0o755) == 0 else { throw OutputError(path: partial, errno: errno) }
        return partial
    }

    /// Renames `partial` into place. Returns `false` when another run published first (its result
    /// stands; `partial` is removed).
    func publish(_ partial: String) throws -> Bool {
        if rename(partial, path) == 0 {
            // Make the rename itself durable, not only the files inside.
            let fd = open(base, O_RDONLY | O_DIRECTORY)
            if fd >= 0 { fsync(fd); close(fd) }
            return true
        }
        let code = errno
        discard(partial)
        if code == EEXIST || code == ENOTEMPTY { return false }
        throw OutputError(path: path, errno: code)
    }

    func discard(_ partial: String) {
        try? FileManager.default.removeItem(atPath: partial)
    }
}

extension SummaryDirectory {
    /// Writes `data` to `path` and syncs it (it is about to be published by a rename).
    static func writeSynced(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError(path: path, errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw OutputError(path: path, errno: errno) }
            offset += n
        }
        guard fsync(fd) == 0 else { throw OutputError(path: path, errno: errno) }
    }
}
