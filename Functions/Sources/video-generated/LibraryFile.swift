import Foundation

/// Puts a file into the library under its final name in one step: it is linked (or copied) to a
/// hidden temporary name in the same directory and renamed over the destination. Readers never see
/// half a video, and a second run of the same delivery replaces the file instead of adding one.
enum LibraryFile {
    /// How the bytes got there.
    enum Method: String { case linked, copied }

    /// Places `source` at `destination`. A hard link costs nothing and survives the host deleting
    /// its copy after the run; it is not possible across file systems (`EXDEV`) or, with
    /// `fs.protected_hardlinks`, for a file another user owns (`EPERM`) — then the bytes are copied.
    static func place(_ source: String, at destination: String) throws -> Method {
        let partial = temporaryName(for: destination)
        unlink(partial)
        var method = Method.linked
        if link(source, partial) != 0 {
            method = .copied
            try copy(source, to: partial)
        }
        try commit(partial, to: destination)
        return method
    }

    /// Writes `data` as `destination`, the same way (temporary name, sync, rename).
    static func write(_ data: Data, at destination: String) throws {
        let partial = temporaryName(for: destination)
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LibraryError(path: partial, errno: errno) }
        do {
            try writeAll(fd, data, path: partial)
            guard fsync(fd) == 0 else { throw LibraryError(path: partial, errno: errno) }
            close(fd)
        } catch {
            close(fd)
            unlink(partial)
            throw error
        }
        try commit(partial, to: destination)
    }

    private static func temporaryName(for destination: String) -> String {
        let url = URL(fileURLWithPath: destination)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial.\(getpid())").path
    }

    private static func commit(_ partial: String, to destination: String) throws {
        guard rename(partial, destination) == 0 else {
            let code = errno
            unlink(partial)
            throw LibraryError(path: destination, errno: code)
        }
        // rename(2) does nothing when both names are links to one file (a re-run that linked the
        // same download again): the temporary name would stay behind.
        unlink(partial)
        // The rename is only durable once the directory is synced.
        let fd = open(URL(fileURLWithPath: destination).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Copies in 1 MiB chunks (videos can be large) and syncs before the rename.
    private static func copy(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw LibraryError(path: source, errno: errno) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw LibraryError(path: target, errno: errno) }
        do {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw LibraryError(path: source, errno: errno) }
                if n == 0 { break }
                try writeAll(output, Data(buffer[0..<n]), path: target)
            }
            guard fsync(output) == 0 else { throw LibraryError(path: target, errno: errno) }
            close(output)
        } catch {
            close(output)
            unlink(target)
            throw error
        }
    }

    private static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw LibraryError(path: path, errno: errno) }
            offset += n
        }
    }
}

/// A library operation failed: which file, and the `errno` text.
struct LibraryError: Error, CustomStringConvertible {
    let path: String
    let reason: String

    init(path: String, errno code: Int32) {
        self.path = path
        self.reason = String(cString: strerror(code))
    }

    var description: String { "\(path): \(reason)" }
}
