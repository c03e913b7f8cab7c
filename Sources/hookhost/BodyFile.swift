import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Reads the body `hookhost send --body` sends: whole, or not at all. A body cut at a size limit
/// would be signed and sent as if it were the file, so one over the limit is refused instead.
enum BodyFile {
    /// The largest body any hookhost accepts (the top of `HOOKHOST_MAX_BODY`'s range).
    static let limit = Int(HostConfig.ranges["HOOKHOST_MAX_BODY"]!.upper)

    /// The bytes of `path` (`-`: stdin); throws naming the file (and `option`, the flag that named
    /// it) when it is unreadable or over `limit`.
    static func contents(of path: String, limit: Int = BodyFile.limit, option: String = "--body") throws(UsageError) -> [UInt8] {
        let name = path == "-" ? "stdin" : path
        // stdin through a duplicate, so closing ours leaves the process's own open.
        let file = FD(path == "-" ? fcntl(0, F_DUPFD_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC))
        guard file.isOpen else { throw UsageError("\(option): cannot read \(name): \(Errno())") }
        let tooLarge = UsageError("\(option): \(name) is larger than \(limit) bytes, the largest body a hookhost accepts"
                                  + (option == "--body" ? "; not sending it" : ""))
        var st = stat()
        let regular = fstat(file.raw, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        if regular && Int(st.st_size) > limit { throw tooLarge }
        // Read up to one byte past the limit: a pipe, or a file that grew, only shows its size that way.
        var out = [UInt8](repeating: 0, count: regular ? Int(st.st_size) + 1 : 1 << 16)
        var count = 0
        while count <= limit {
            if count == out.count { out += [UInt8](repeating: 0, count: min(out.count, limit + 1 - count)) }
            let n: Int
            do { n = try file.read(into: &out, from: count) } catch { throw UsageError("\(option): cannot read \(name): \(error)") }
            if n == 0 { break }
            count += n
        }
        if count > limit { throw tooLarge }
        out.removeSubrange(count...)
        return out
    }
}
