import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// Gives a downloaded result to the user functions run as, without ever following a link.
///
/// The host runs as root; a path-based `chown` of a name inside a directory the function user
/// already owns would follow whatever that user put there (a symlink to `/etc/shadow`) and hand it
/// the target. So everything here goes through descriptors: the directory is opened with
/// `O_NOFOLLOW` and must still be the host's (then nobody else can swap its entries), the file is
/// opened relative to it with `O_NOFOLLOW` and must be a regular file with one link, and each is
/// `fchown`ed — the file first, the directory last, so the directory changes hands only once
/// nothing in it is left to do.
public enum ResultHandover {
    /// Hands `directory/fileName` and then `directory` to `uid:gid`. Throws (transient `.local`,
    /// nothing changed hands if the file could not be checked) when either is not what the host
    /// created: a link, not a regular file, a hard link, or a directory owned by someone else.
    public static func handOver(directory: String, fileName: String, uid: UInt32, gid: UInt32) throws(FetchError) {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dfd >= 0 else { throw .io("cannot open result directory \(directory)", errno: errno) }
        defer { close(dfd) }
        var dst = stat()
        guard fstat(dfd, &dst) == 0 else { throw .io("cannot stat result directory \(directory)", errno: errno) }
        guard dst.st_uid == geteuid() else {
            throw .local("result directory \(directory) belongs to uid \(dst.st_uid), not the host; not handing it over")
        }
        let path = directory + "/" + fileName
        // O_NONBLOCK: a FIFO in the file's place must not hang the downloader in open(2).
        let ffd = openat(dfd, fileName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard ffd >= 0 else {
            let code = errno
            if code == ELOOP { throw .local("result \(path) is a symbolic link; not following it") }
            throw .io("cannot open result \(path)", errno: code)
        }
        defer { close(ffd) }
        var fst = stat()
        guard fstat(ffd, &fst) == 0 else { throw .io("cannot stat result \(path)", errno: errno) }
        // A hard link would make the file another name of something the host does not own.
        guard fst.st_mode & S_IFMT == S_IFREG, fst.st_nlink == 1 else {
            throw .local("result \(path) is not a plain file of its own (mode \(String(fst.st_mode, radix: 8)), \(fst.st_nlink) links); not handing it over")
        }
        guard fchown(ffd, uid, gid) == 0 else { throw .io("cannot hand result \(path) to uid \(uid)", errno: errno) }
        guard fchown(dfd, uid, gid) == 0 else { throw .io("cannot hand result directory \(directory) to uid \(uid)", errno: errno) }
    }
}
