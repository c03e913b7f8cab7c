import Glibc

/// The names in one directory, read with opendir/readdir/closedir; the only readdir loop in the
/// host, so the `dirent` pointer handling lives here.
public enum DirectoryEntries {
    /// Every name except `.` and `..`, in directory order, as text; throws when the directory
    /// cannot be opened. A name that is not UTF-8 comes back repaired (U+FFFD) and so names no
    /// file: use `rawNames` for anything that must act on the entries.
    public static func names(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path) }
        defer { closedir(dir) }
        return entries(dir).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every name except `.` and `..` of the directory open as `fd`, byte for byte (a file name
    /// is any bytes but `/` and NUL). `fd` stays open and owned by the caller.
    public static func rawNames(ofDirectory fd: Int32) throws(SystemError) -> [[UInt8]] {
        // fdopendir takes ownership of its descriptor (closedir closes it): give it a copy.
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw SystemError("dup", "directory fd \(fd)") }
        guard let dir = fdopendir(copy) else { let e = SystemError("fdopendir", "directory fd \(fd)"); close(copy); throw e }
        defer { closedir(dir) }
        rewinddir(dir)  // the copy shares the file offset: start from the first entry
        return entries(dir)
    }

    private static func entries(_ dir: OpaquePointer) -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let e = readdir(dir) {
            // d_name is a fixed-size C array in the struct; it is NUL-terminated.
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [0x2E] && name != [0x2E, 0x2E] { out.append(name) }
        }
        return out
    }
}
