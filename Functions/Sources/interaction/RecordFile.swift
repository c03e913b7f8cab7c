import Foundation

/// `<dir>/<name>.json`, read and replaced under an exclusive `flock` on `<dir>/.<name>.lock`:
/// two events for one interaction may run at once, and neither may lose the other's update.
/// The file is replaced with one rename, so a reader never sees half a record.
struct RecordFile {
    let directory: String
    let name: String

    var path: String { directory + "/" + name + ".json" }

    /// Runs `update` with the current contents (or `nil`) under the lock and writes what it returns.
    func update(_ body: (Data?) throws -> Data) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lockPath = directory + "/." + name + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw RecordError(path: lockPath, errno: errno) }
        defer { close(lock) }   // closing releases the lock
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw RecordError(path: lockPath, errno: errno) }
        }
        let data = try body(FileManager.default.contents(atPath: path))
        try replace(with: data)
    }

    private func replace(with data: Data) throws {
        let partial = directory + "/." + name + ".json.partial.\(getpid())"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RecordError(path: partial, errno: errno) }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let code = errno
                close(fd); unlink(partial)
                throw RecordError(path: partial, errno: code)
            }
            offset += n
        }
        let synced = fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced, rename(partial, path) == 0 else {
            let failure = synced ? errno : code
            unlink(partial)
            throw RecordError(path: path, errno: failure)
        }
    }
}

/// Reading or writing a record failed: which file, and the `errno` text.
struct RecordError: Error, CustomStringConvertible {
    let path: String
    let reason: String

    init(path: String, errno code: Int32) {
        self.path = path
        reason = String(cString: strerror(code))
    }

    init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    var description: String { "\(path): \(reason)" }
}
