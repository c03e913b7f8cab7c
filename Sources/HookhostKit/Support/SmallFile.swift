import Glibc

/// Why a small file could not be read whole.
public enum SmallFileError: Error, Equatable, CustomStringConvertible {
    /// open(2) failed; `code` is its errno (ENOENT: the file does not exist).
    case cannotOpen(path: String, code: Int32)
    /// read(2) failed part-way.
    case readFailed(path: String, code: Int32)
    /// The file holds more than `limit` bytes; nothing is returned rather than a cut copy.
    case tooLarge(path: String, limit: Int)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let c): "cannot open \(p): \(String(cString: strerror(c)))"
        case .readFailed(let p, let c): "cannot read \(p): \(String(cString: strerror(c)))"
        case .tooLarge(let p, let limit): "\(p) is larger than \(limit) bytes"
        }
    }

    /// The file is simply not there (callers often treat that as "not configured").
    public var isMissing: Bool { if case .cannotOpen(_, let c) = self { return c == ENOENT }; return false }
}

/// Reads whole files that are expected to be small (sidecars, secrets, /proc entries).
public enum SmallFile {
    /// The whole file; a file over `limit` bytes is an error, never a silently cut copy.
    public static func read(_ path: String, limit: Int) throws(SmallFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, code: errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .readFailed(path: path, code: errno) }
            if n == 0 { return out }
            // One byte over the limit is enough to know: stop reading (a /proc file can be endless).
            guard out.count + n <= limit else { throw .tooLarge(path: path, limit: limit) }
            out += buf[0..<n]
        }
    }
}
