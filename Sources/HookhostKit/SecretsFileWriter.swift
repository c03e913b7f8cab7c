import Glibc
import CSys
import HookSupport
import HookVerify

/// Why the secrets file could not be changed; the message says how to fix it.
public struct SecretsFileError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// Rewrites the secrets file for `hookhost webhooks create|rotate`: under a lock, by a new file
/// renamed over the old one, so a host re-reading it (every 2 s) sees the old text or the new, and
/// two CLI runs at once do not lose each other's secret.
public enum SecretsFileWriter {
    /// Applies `edit` to the current text (empty when the file does not exist yet) and writes the
    /// result: a temporary file in the same directory created O_EXCL|O_NOFOLLOW with mode 0600
    /// (set with fchmod, whatever the umask), fsync'd, renamed over, the directory fsync'd.
    ///
    /// Refused: a symlink (a Kubernetes secret volume is not ours to write), a file owned by
    /// another user, or one group/world-readable (it holds secrets; chmod 600 fixes it).
    public static func update<T>(_ path: String, _ edit: (String) throws(SecretsFileError) -> (String, T)) throws(SecretsFileError) -> T {
        try SecretsFileLock(path).update(edit)
    }

    /// The file's text, after the ownership and mode checks; nil when it does not exist.
    static func read(_ dirFD: Int32, _ name: String, fail: (String) -> SecretsFileError) throws(SecretsFileError) -> String? {
        var fd = FD(hh_openat3(dirFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0))
        guard fd.isOpen else {
            switch errno {
            case ENOENT: return nil
            case ELOOP: throw fail("is a symbolic link; hookhost writes only a plain file it owns (point HOOKHOST_SECRETS_FILE at one, or add the secret where the link points yourself)")
            default: throw fail("cannot open: \(String(cString: strerror(errno)))")
            }
        }
        defer { fd.close() }
        var st = stat()
        guard fstat(fd.raw, &st) == 0 else { throw fail("cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("is not a regular file") }
        guard st.st_uid == geteuid() else { throw fail("is owned by uid \(st.st_uid), not by this user (uid \(geteuid())); run as its owner") }
        guard st.st_mode & 0o077 == 0 else {
            throw fail("is readable or writable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))); it holds secrets: chmod 600 it first")
        }
        guard st.st_size <= 1 << 20 else { throw fail("is larger than 1 MiB; not a secrets file") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var count = 0
        while count < bytes.count {
            let n: Int
            do { n = try fd.read(into: &bytes, from: count) } catch { throw fail("cannot read: \(error)") }
            if n == 0 { break }
            count += n
        }
        return String(decoding: bytes[..<min(count, bytes.count)], as: UTF8.self)
    }

    /// `AtomicFile`'s replace through the open directory, its errors as this file's.
    static func write(_ dirFD: Int32, directory: String, _ name: String, _ bytes: [UInt8], fail: (String) -> SecretsFileError,
                      probeOnly: Bool = false) throws(SecretsFileError) {
        do { try AtomicFile.replace(in: dirFD, directory: directory, name: name, with: bytes, mode: 0o600, probeOnly: probeOnly) } catch {
            throw fail(error.description)
        }
    }
}

/// The secrets file's lock, held from before Gemini is asked for a secret until the secret is in
/// the file: two `rotate`s at once then reach Gemini one after the other and store their secrets
/// in that order, so the file ends with the secret Gemini signs with (released by deinit).
public final class SecretsFileLock {
    public let path: String
    let name: String
    let directory: String
    let dirFD: Int32
    let lockFD: Int32

    /// Opens the file's directory and takes `.NAME.lock` there, waiting for another holder
    /// (`waiting` is called first then, so a person knows why nothing happens).
    public init(_ path: String, waiting: (() -> Void)? = nil) throws(SecretsFileError) {
        let fail = { (m: String) in SecretsFileError(path: path, message: m) }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, name != ".", name != ".." else { throw fail("not a file name") }
        let dirFD = hh_open3(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard dirFD >= 0 else { throw fail("cannot open its directory \(directory): \(String(cString: strerror(errno)))") }
        // The lock is a file of its own: the secrets file is replaced by rename, so a lock on it
        // would be on an inode the next writer no longer opens.
        let lockFD = hh_openat3(dirFD, "." + name + ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else {
            let e = errno
            close(dirFD)
            throw fail("cannot create the lock file .\(name).lock: \(String(cString: strerror(e)))")
        }
        if let waiting, flock(lockFD, LOCK_EX | LOCK_NB) != 0, errno == EWOULDBLOCK { waiting() }
        guard retryingEINTR({ flock(lockFD, LOCK_EX) }) == 0 else {
            let e = errno
            close(lockFD); close(dirFD)
            throw fail("cannot lock .\(name).lock: \(String(cString: strerror(e)))")
        }
        self.path = path; self.name = name; self.directory = directory; self.dirFD = dirFD; self.lockFD = lockFD
    }

    deinit {
        close(lockFD)
        close(dirFD)
    }

    private func fail(_ m: String) -> SecretsFileError { SecretsFileError(path: path, message: m) }

    /// `SecretsFileWriter.update` under this lock.
    public func update<T>(_ edit: (String) throws(SecretsFileError) -> (String, T)) throws(SecretsFileError) -> T {
        let current = try SecretsFileWriter.read(dirFD, name, fail: fail)
        let (text, result) = try edit(current ?? "")
        if text != current { try SecretsFileWriter.write(dirFD, directory: directory, name, Array(text.utf8), fail: fail) }
        return result
    }

    /// Proves, before a secret exists that could be lost, that the file can be rewritten with
    /// `extra` bytes more: a file that reads fine in a directory this user cannot write, or on a
    /// disk too full for the new copy, fails here rather than after Gemini made the secret.
    /// Returns the current text (empty when there is no file yet).
    public func checkWritable(extra: Int) throws(SecretsFileError) -> String {
        let current = try SecretsFileWriter.read(dirFD, name, fail: fail) ?? ""
        try SecretsFileWriter.write(dirFD, directory: directory, name, Array(current.utf8) + Array(repeating: UInt8(ascii: "#"), count: extra), fail: fail, probeOnly: true)
        return current
    }
}
