import Glibc

/// Why a small file could not be read whole.
public enum SmallFileError: Error, Equatable, CustomStringConvertible {
    /// open(2) failed; `code` is its errno (ENOENT: the file does not exist).
    case cannotOpen(path: String, code: Int32)
    /// read(2) failed part-way.
    case readFailed(path: String, code: Int32)
    /// The file holds more than `limit` bytes; nothing is returned rather than a cut copy.
    case tooLarge(path: String, limit: Int)
    /// A FIFO, device, socket or directory: reading it could block forever or never end.
    case notRegularFile(path: String, kind: String)
    /// Not owned by the one who was to write it, or linked elsewhere too (a hard link to a file
    /// the writer could not read itself).
    case foreign(path: String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let c): "cannot open \(p): \(String(cString: strerror(c)))"
        case .readFailed(let p, let c): "cannot read \(p): \(String(cString: strerror(c)))"
        case .tooLarge(let p, let limit): "\(p) is larger than \(limit) bytes"
        case .notRegularFile(let p, let kind): "\(p) is not a regular file (a \(kind))"
        case .foreign(let p): "\(p) is not a file of its writer's own (another owner, or more than one link)"
        }
    }

    /// The file is simply not there (callers often treat that as "not configured").
    public var isMissing: Bool { if case .cannotOpen(_, let c) = self { return c == ENOENT }; return false }
}

/// Reads whole files that are expected to be small (sidecars, secrets, /proc entries).
public enum SmallFile {
    /// The whole file; a file over `limit` bytes is an error, never a silently cut copy. Only
    /// regular files are read: a FIFO would park the calling worker thread in open(2) or read(2)
    /// until some writer appears, and a device may never end. (/proc entries are regular files.)
    ///
    /// `writtenBy`: a file another user wrote for the host (a function's): never through a
    /// symlink, owned by that uid, one link only — so it cannot make the host read a file of
    /// someone else's.
    public static func read(_ path: String, limit: Int, writtenBy: uid_t? = nil) throws(SmallFileError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO for reading does not wait for a writer; fstat then refuses it.
        let file: FD
        let flags = O_RDONLY | O_NONBLOCK | (writtenBy == nil ? 0 : O_NOFOLLOW)
        do { file = try FD(opening: path, flags) } catch { throw .cannotOpen(path: path, code: error.code) }
        var st = stat()
        guard fstat(file.raw, &st) == 0 else { throw .readFailed(path: path, code: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .notRegularFile(path: path, kind: kind(st.st_mode)) }
        if let writtenBy, st.st_uid != writtenBy || st.st_nlink != 1 { throw .foreign(path: path) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n: Int
            do { n = try file.read(into: &buf) } catch { throw .readFailed(path: path, code: error.code) }
            if n == 0 { return out }
            // One byte over the limit is enough to know: stop reading (a /proc file can be endless).
            guard out.count + n <= limit else { throw .tooLarge(path: path, limit: limit) }
            out += buf[0..<n]
        }
    }

    /// The file type in words, for the error message.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "FIFO"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFSOCK: "socket"
        case S_IFDIR: "directory"
        default: "special file"
        }
    }
}
