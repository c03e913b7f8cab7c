import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Files that look like functions but cannot run: said out loud (`hookhost functions`, a warning
/// at start and when a delivery is skipped because of one) instead of silently skipping or
/// routing past them — a handler copied without `chmod +x` is a common first mistake.
extension FunctionTable {
    /// Names in the directory that would be routed to (a plain dotted name or `_default`), are
    /// regular files without execute permission for the host, and start like a program (`#!` or
    /// an ELF header). A README is not a function; a script without `+x` is.
    public func notExecutable() -> [String] {
        let names = ((try? DirectoryEntries.names(directory)) ?? []).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".json") }
        return names.sorted().filter { ($0 == "_default" || EventType.isValid($0)) && isNotExecutableProgram($0) }
    }

    /// The candidates for `type` (exact, family, `_default`) that are non-executable programs.
    public func notExecutable(candidatesOf type: String) -> [String] {
        guard EventType.isValid(type) else { return [] }
        return EventType.candidates(type).filter(isNotExecutableProgram)
    }

    private func isNotExecutableProgram(_ name: String) -> Bool {
        let path = directory + "/" + name
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(path, X_OK) != 0 else { return false }
        return FunctionTable.startsLikeProgram(path)
    }

    /// `#!` or `\x7fELF` at the start. Opened non-blocking and only after `stat` said it is a
    /// regular file, so a FIFO swapped in meanwhile cannot hang the caller.
    static func startsLikeProgram(_ path: String) -> Bool {
        guard let file = try? FD(opening: path, O_RDONLY | O_NONBLOCK) else { return false }
        var head = [UInt8](repeating: 0, count: 4)
        guard let n = try? file.read(into: &head), n >= 2 else { return false }
        return (head[0] == UInt8(ascii: "#") && head[1] == UInt8(ascii: "!")) || (n == 4 && head == [0x7F, 0x45, 0x4C, 0x46])
    }
}
