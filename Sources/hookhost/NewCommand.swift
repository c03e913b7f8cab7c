import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost new`: a function skeleton that passes `hookhost run` as generated. Scripts go
/// straight into the functions directory with their sidecar; a Swift function is a package of
/// its own that depends on the `HookEvent` library by URL and release (never by editing
/// Functions/Package.swift), with a build script that installs it.
enum NewCommand {
    static let help = """
    hookhost new NAME --lang sh|python|swift [--functions DIR] [--dir DIR]

    Writes a function skeleton for NAME (an event type such as batch.succeeded, a family such as
    batch, or _default) that reads its stdin document, logs a line to stderr, prints a JSON object
    and exits 0 — ready for hookhost run NAME, and for you to edit.

      --lang sh|python  DIR/NAME (executable) and its sidecar DIR/NAME.json, in the functions
                        directory (--functions, else HOOKHOST_FUNCTIONS, else ./Functions/bin;
                        made if missing)
      --lang swift      a Swift package in --dir (default ./NAME with dots as dashes, e.g.
                        ./batch-succeeded): Package.swift (HookEvent from \(NewCommand.packageURL),
                        from: "\(BuildInfo.version)"; HOOKHOST_EVENT_PATH=/path/to/hookhost builds
                        against a local checkout instead), Sources/…/main.swift, the sidecar and
                        build.sh, which builds it (release, --static-swift-stdlib) and installs it
                        with its sidecar into the functions directory

    Never overwrites: an existing file or directory is named and nothing is written (exit 1).
    """

    /// Where function packages get the `HookEvent` library: hookhost's repository, whose releases
    /// are tagged with the version `hookhost version` prints.
    static let packageURL = "https://github.com/hookhost/hookhost"

    enum Language: String { case sh, python, swift }

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--lang", "--functions", "--dir"])
        try a.expectPositional(atMost: 1, "new")
        guard let name = a.positional.first else { throw UsageError("new needs a NAME (an event type, a family or _default) and --lang sh|python|swift") }
        guard name == "_default" || EventType.isValid(name) else {
            throw UsageError("new: \"\(name)\" cannot be a function's name: use an event type (batch.succeeded), a family (batch) or _default")
        }
        guard EventType.canonical(name) == name else {
            throw UsageError("new: \(name) is delivered as \(EventType.canonical(name)); a function named \(name) would never run — name it \(EventType.canonical(name))")
        }
        guard let langText = a.options["--lang"] else { throw UsageError("new needs --lang sh|python|swift") }
        guard let lang = Language(rawValue: langText) else { throw UsageError("--lang must be sh, python or swift, got \"\(langText)\"") }
        if lang != .swift, a.options["--dir"] != nil { throw UsageError("--dir is for --lang swift (a script goes into the functions directory)") }
        let functionsOption = a.options["--functions"] ?? environment()["HOOKHOST_FUNCTIONS"] ?? "./Functions/bin"
        guard !functionsOption.isEmpty else { throw ConfigError(setting: "HOOKHOST_FUNCTIONS", message: "is empty; give the functions directory") }
        // As serve refuses it; and written into build.sh, a line break would end its comment and
        // make the rest of the path a command.
        let functions = FileSystem.absolute(try Setting<HostConfig>.withoutControlCharacters("HOOKHOST_FUNCTIONS (--functions)", functionsOption))
        let families = Set(EventType.gemini.map { String($0.prefix { $0 != "." }) })
        if name != "_default", !EventType.gemini.contains(name), !families.contains(name) {
            print("note: Gemini sends no event type or family named \(name) (its types: \(EventType.gemini.filter { $0 != "batch.completed" }.joined(separator: ", "))); fine for your own types")
        }
        // The same data the examples' events carry, so the printed command is a fair first test.
        let sampleData = name.hasPrefix("batch") ? #"{"id":"batches/local-1"}"# : name.hasPrefix("video") ? #"{"id":"models/veo/operations/local-1"}"#
            : name.hasPrefix("interaction") ? #"{"id":"interactions/local-1"}"# : #"{"id":"local-1"}"#
        let runType = name == "_default" ? "ping" : EventType.gemini.first { $0.hasPrefix(name + ".") } ?? name
        let functionsFlag = a.options["--functions"].map { " --functions \(shellQuoted($0))" } ?? ""
        switch lang {
        case .sh, .python:
            let made = try installScript(name: name, lang: lang, into: functions)
            print("wrote \(functions)/\(name) and \(functions)/\(name).json" + (made ? " (made \(functions))" : ""))
            print("try it:  hookhost run \(runType) --data '\(sampleData)'\(functionsFlag)")
        case .swift:
            let dir = FileSystem.absolute(try Setting<HostConfig>.withoutControlCharacters("--dir", a.options["--dir"] ?? "./" + targetName(name)))
            if a.options["--dir"] == nil && parent(of: dir) == functions {
                throw UsageError("new: the package would go into the functions directory itself; give --dir DIR elsewhere")
            }
            try writePackage(name: name, at: dir, functions: functions)
            print("wrote the Swift package \(dir) (Package.swift, Sources/\(targetName(name))/main.swift, \(name).json, build.sh)")
            print("build and install it into \(functions):  \(shellQuoted(dir))/build.sh")
            print("  (HookEvent comes from \(packageURL), from: \"\(BuildInfo.version)\"; without network: HOOKHOST_EVENT_PATH=/path/to/hookhost-checkout \(shellQuoted(dir))/build.sh)")
            print("then try it:  hookhost run \(runType) --data '\(sampleData)'\(functionsFlag)")
        }
        return 0
    }

    // MARK: helpers

    /// Whether anything is at `path`, a dangling symlink included (`access` follows the link, and
    /// writing through one would put the files wherever it points).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// `mkdir -p` with mode 0755 (less the umask), as `build.sh` makes it: the host, and a
    /// function user, must be able to reach files in a functions directory this makes.
    static func makeDirectories(_ path: String) -> Bool {
        var partial = path.hasPrefix("/") ? "" : "."
        for comp in path.split(separator: "/") {
            partial += "/" + comp
            if mkdir(partial, 0o755) != 0 && errno != EEXIST { return false }
        }
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// `text` as one word for sh: single-quoted unless it is plainly safe.
    static func shellQuoted(_ text: String) -> String {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+=:,@".contains($0)) }) { return text }
        return "'" + text.replacingAll("'", #"'\''"#) + "'"
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func lastComponent(_ path: String) -> String { String(path.split(separator: "/").last ?? Substring(path)) }
}
