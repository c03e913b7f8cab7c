import Glibc

/// This process's own argv memory: the bytes `/proc/<pid>/cmdline` and `ps` show to every local
/// user (and to functions, which may run as another user). The only place that writes through
/// `CommandLine.unsafeArgv`.
public enum ProcessArguments {
    /// Overwrites argv[`index`] from byte `offset` to its end with `x`, in place and at the same
    /// length (the kernel reports the area as is; a shorter string would leave the old tail).
    /// Call before other threads start: nothing else may read argv meanwhile.
    public static func blank(index: Int, from offset: Int) {
        guard index >= 0, index < Int(CommandLine.argc), let p = CommandLine.unsafeArgv[index] else { return }
        let length = strlen(p)
        var i = max(offset, 0)
        while i < length {
            p[i] = CChar(UInt8(ascii: "x"))
            i += 1
        }
    }
}
