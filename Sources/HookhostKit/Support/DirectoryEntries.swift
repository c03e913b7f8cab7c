import Glibc

/// The names in one directory, read with opendir/readdir/closedir; the only readdir loop in the
/// host, so the `dirent` pointer handling lives here.
public enum DirectoryEntries {
    /// Every name except `.` and `..`, in directory order; throws when the directory cannot be opened.
    public static func names(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path) }
        defer { closedir(dir) }
        var out: [String] = []
        while let e = readdir(dir) {
            // d_name is a fixed-size C array in the struct; it is NUL-terminated.
            let name = withUnsafePointer(to: e.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
