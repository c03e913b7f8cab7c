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

/// A file that would be a function but for its extension: `video.generated.py` never runs for
/// `video.generated`, because a function's file name is the event type exactly. Said out loud
/// (`hookhost functions`, a warning at start, `hookhost run`) — copying a script in with its
/// extension is as common a first mistake as forgetting `chmod +x`.
public struct MisnamedFunction: Sendable, Equatable {
    /// The file's name in the functions directory.
    public let file: String
    /// The name it was presumably meant to have (a type, a family or `_default`).
    public let meant: String

    public init(file: String, meant: String) {
        self.file = file
        self.meant = meant
    }

    /// One line for people: what does not happen, why, and the fix.
    public var problem: String {
        "\(file) is not run for \(meant): a function's file name is the event type exactly; did you mean \(meant)?"
    }
}

extension FunctionTable {
    /// Extensions of programs and scripts. A routable name that ends in one of these is taken
    /// for a function that kept its extension; no Gemini type ends like this.
    public static let programExtensions: Set<String> = [
        "sh", "bash", "zsh", "py", "swift", "js", "mjs", "cjs", "ts", "rb", "pl", "php", "lua", "go", "rs", "bin", "exe", "out",
    ]

    /// Regular files in the directory named like a function plus a program extension, whose
    /// presumed name is not taken by a file already (then the extension is deliberate, e.g. the
    /// source next to the installed function), sorted by file name.
    public func misnamed() -> [MisnamedFunction] {
        let names = ((try? DirectoryEntries.names(directory)) ?? []).filter { !$0.hasPrefix(".") }
        let present = Set(names)
        return names.sorted().compactMap { name in
            guard let meant = FunctionTable.meantName(name), !present.contains(meant) else { return nil }
            var st = stat()
            guard stat(directory + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            return MisnamedFunction(file: name, meant: meant)
        }
    }

    /// The misnamed files that were meant for `type`: those whose presumed name is one of its
    /// candidates (exact, family, `_default`).
    public func misnamed(candidatesOf type: String) -> [MisnamedFunction] {
        let candidates = Set(EventType.candidates(type))
        return misnamed().filter { candidates.contains($0.meant) }
    }

    /// `video.generated.py` → `video.generated`; `batch.completed.sh` → `batch.succeeded` (the
    /// type it is delivered as); nil for a name without a program extension or whose stem could
    /// not be a function's name. Pure.
    public static func meantName(_ file: String) -> String? {
        guard let dot = file.lastIndex(of: "."), programExtensions.contains(file[file.index(after: dot)...].lowercased()) else { return nil }
        let stem = String(file[..<dot])
        guard stem == "_default" || EventType.isValid(stem) else { return nil }
        return EventType.canonical(stem)
    }
}
