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

    // MARK: scripts

    /// Writes the sidecar, then the executable, each whole under a temporary name and linked
    /// into place (a host serving from the directory never sees half a file, and nothing is
    /// overwritten). Returns whether the directory had to be made.
    static func installScript(name: String, lang: Language, into dir: String) throws -> Bool {
        for existing in [name, name + ".json"] where exists(dir + "/" + existing) {
            throw RuntimeError("\(dir)/\(existing) already exists; nothing written (remove it, or choose another name)")
        }
        var made = false
        if access(dir, F_OK) != 0 {
            guard makeDirectories(dir) else { throw RuntimeError("cannot create \(dir): \(String(cString: strerror(errno)))") }
            made = true
        }
        try place(dir + "/" + name + ".json", sidecar(timeout: 60), mode: 0o644)
        try place(dir + "/" + name, lang == .sh ? shScript(name) : pythonScript(name), mode: 0o755)
        return made
    }

    /// Creates `path` with `text` without ever showing a partial file or replacing one.
    static func place(_ path: String, _ text: String, mode: mode_t) throws {
        let tmp = parent(of: path) + "/." + lastComponent(path) + ".new.\(getpid())"
        unlink(tmp)
        try KeysCommand.write(tmp, text, mode: mode)
        defer { unlink(tmp) }
        guard link(tmp, path) == 0 else { throw RuntimeError("cannot create \(path): \(String(cString: strerror(errno)))") }
    }

    static func sidecar(timeout: Int) -> String {
        """
        {
          "timeout": \(timeout),
          "env": {}
        }

        """
    }

    static func shScript(_ name: String) -> String {
        #"""
        #!/bin/sh
        # hookhost function for "\#(name)" (made by hookhost new; try it: hookhost run TYPE --data '{"id":"x"}').
        # stdin: one JSON document (contract, delivery, type, event, user_metadata, result) — see
        # docs/reference.md, "stdin". Environment: HOOKHOST_EVENT_TYPE, HOOKHOST_DELIVERY_ID,
        # HOOKHOST_ATTEMPT, HOOKHOST_WORK_DIR (private scratch dir, the working directory),
        # HOOKHOST_RESULT_PATH (when a result was downloaded), and the sidecar's env.
        # Exit: 0 done · 75 try again later · 65 this input will never work · anything else: failed
        # (retried until max_attempts). A delivery can come more than once: key side effects on
        # HOOKHOST_DELIVERY_ID.
        set -eu

        input=$(cat)
        if [ -z "$input" ]; then
            echo "no input on stdin" >&2
            exit 65
        fi

        echo "$HOOKHOST_EVENT_TYPE: delivery $HOOKHOST_DELIVERY_ID, attempt $HOOKHOST_ATTEMPT" >&2
        if [ -n "${HOOKHOST_RESULT_PATH:-}" ]; then
            echo "result: $HOOKHOST_RESULT_PATH ($(wc -c < "$HOOKHOST_RESULT_PATH") bytes)" >&2
        fi

        # A JSON object on stdout is stored as the delivery's output. (The type is a plain dotted
        # name and the attempt a number, so neither needs escaping; the delivery id might.)
        printf '{"handled":"%s","attempt":%s}\n' "$HOOKHOST_EVENT_TYPE" "$HOOKHOST_ATTEMPT"

        """#
    }

    static func pythonScript(_ name: String) -> String {
        #"""
        #!/usr/bin/env python3
        """hookhost function for "\#(name)" (made by hookhost new; try it: hookhost run TYPE --data '{"id":"x"}').

        stdin: one JSON document (contract, delivery, type, event, user_metadata, result); see
        docs/reference.md, "stdin". Exit: 0 done, 75 try again later, 65 this input will never
        work, anything else failed (retried until max_attempts). A JSON object printed on stdout is
        stored as the delivery's output; stderr is kept and logged. A delivery can come more than
        once: key side effects on delivery["id"]. HOOKHOST_WORK_DIR is a private scratch directory.
        """
        import json
        import os
        import sys

        DONE, RETRY_LATER, UNUSABLE = 0, 75, 65


        def main() -> int:
            try:
                doc = json.load(sys.stdin)
            except ValueError as e:
                print(f"stdin is not a hookhost document: {e}", file=sys.stderr)
                return UNUSABLE
            delivery, event, result = doc["delivery"], doc["event"], doc["result"]
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            print(f"{doc['type']}: delivery {delivery['id']}, attempt {delivery['attempt']}", file=sys.stderr)

            output = {"handled": doc["type"], "delivery": delivery["id"], "id": data.get("id"),
                      "user_metadata": doc["user_metadata"]}
            if result is not None:  # the downloaded file: uri, path, bytes, sha256, content_type
                output["result"] = {"uri": result["uri"], "bytes": result["bytes"]}
                print(f"result: {result['path']} ({result['bytes']} bytes)", file=sys.stderr)
            # os.environ["HOOKHOST_WORK_DIR"]: scratch space, removed after the run.
            _ = os.environ.get("HOOKHOST_WORK_DIR")

            json.dump(output, sys.stdout)
            print()
            return DONE


        if __name__ == "__main__":
            sys.exit(main())

        """#
    }

    // MARK: Swift

    /// The executable target's name: the function's name with dots as dashes (`batch-succeeded`),
    /// as the examples in Functions/Sources are named.
    static func targetName(_ name: String) -> String { name.replacingAll(".", "-") }

    static func writePackage(name: String, at dir: String, functions: String) throws {
        if exists(dir) { throw RuntimeError("\(dir) already exists; nothing written (remove it, or give --dir DIR)") }
        let target = targetName(name)
        guard makeDirectories(dir + "/Sources/" + target) else {
            throw RuntimeError("cannot create \(dir)/Sources/\(target): \(String(cString: strerror(errno)))")
        }
        try KeysCommand.write(dir + "/Package.swift", packageManifest(target: target), mode: 0o644)
        try KeysCommand.write(dir + "/Sources/\(target)/main.swift", swiftMain(name), mode: 0o644)
        try KeysCommand.write(dir + "/\(name).json", sidecar(timeout: 60), mode: 0o644)
        try KeysCommand.write(dir + "/build.sh", buildScript(name: name, target: target, functions: functions), mode: 0o755)
        try KeysCommand.write(dir + "/.gitignore", "/.build/\n", mode: 0o644)
    }

    static func packageManifest(target: String) -> String {
        #"""
        // swift-tools-version: 6.0
        // A hookhost function, made by `hookhost new`. ./build.sh builds it and installs it (with its
        // sidecar) into the functions directory.
        import PackageDescription

        // HookEvent, the handler library, comes from hookhost's repository by release tag. To build
        // against a local checkout instead (no network, or an unreleased hookhost), set
        // HOOKHOST_EVENT_PATH to it: HOOKHOST_EVENT_PATH=/path/to/hookhost ./build.sh
        let hookhost: Package.Dependency = Context.environment["HOOKHOST_EVENT_PATH"].map { .package(name: "hookhost", path: $0) }
            ?? .package(url: "\#(packageURL)", from: "\#(BuildInfo.version)")

        let package = Package(
            name: "\#(target)",
            dependencies: [hookhost],
            targets: [
                .executableTarget(name: "\#(target)", dependencies: [.product(name: "HookEvent", package: "hookhost")]),
            ]
        )

        """#
    }

    static func swiftMain(_ name: String) -> String {
        #"""
        // The hookhost function for "\#(name)". stdin is one JSON document, decoded by HookEvent;
        // exit 0 done, 75 try again later (HookExit.retryLater), 65 this input will never work
        // (HookExit.permanentFailure), anything else failed (retried until max_attempts). A
        // delivery can come more than once: key side effects on input.delivery.id.
        import HookEvent

        let input = HookInput.readOrExit()  // a document it cannot read: a message on stderr, exit 65
        HookOutput.log("\(input.type): delivery \(input.delivery.id), attempt \(input.delivery.attempt)")

        var output: [String: JSONValue] = [
            "handled": .from(input.type),
            "delivery": .from(input.delivery.id),
            "id": .from(input.event.data.id),
        ]
        if let result = input.result {  // the downloaded file: uri, path, bytes, sha256, contentType
            HookOutput.log("result: \(result.path) (\(result.bytes) bytes)")
            output["result_bytes"] = .from(result.bytes)
        }
        // A JSON object on stdout is stored as the delivery's output.
        HookOutput.write(output)

        """#
    }

    static func buildScript(name: String, target: String, functions: String) -> String {
        #"""
        #!/usr/bin/env bash
        # Builds the hookhost function "\#(name)" (release; --static-swift-stdlib links the Swift
        # runtime in, so the binary runs where Swift is not installed) and installs it, with its
        # sidecar, into the functions directory:
        #   ./build.sh        → $HOOKHOST_FUNCTIONS, else \#(functions)
        #   ./build.sh DIR    → DIR
        # HookEvent comes from the package URL in Package.swift; HOOKHOST_EVENT_PATH=/path/to/hookhost
        # builds against a local checkout instead. Extra `swift build` flags: SWIFT_BUILD_FLAGS.
        # Safe to re-run, also while hookhost is serving from DIR.
        set -euo pipefail

        here=$(cd "$(dirname "$0")" && pwd)
        dest=${1:-${HOOKHOST_FUNCTIONS:-\#(shellQuoted(functions))}}
        flags=(-c release --static-swift-stdlib --package-path "$here")

        echo "==> building \#(target)"
        # shellcheck disable=SC2086 # SWIFT_BUILD_FLAGS is a list of flags
        swift build "${flags[@]}" ${SWIFT_BUILD_FLAGS:-}
        # shellcheck disable=SC2086
        bin=$(swift build "${flags[@]}" ${SWIFT_BUILD_FLAGS:-} --show-bin-path)

        # A temporary name in DIR, then rename: hookhost picks functions up while running, so it
        # must never see a half-written file; the sidecar goes first, so the function never runs
        # without the settings meant for it.
        mkdir -p "$dest"
        install_file() { # source name mode
            local tmp="$dest/.$2.tmp.$$"
            cp "$1" "$tmp"
            chmod "$3" "$tmp"
            mv -f "$tmp" "$dest/$2"
            echo "  $dest/$2"
        }
        echo "==> installing into $dest"
        install_file "$here/\#(name).json" "\#(name).json" 644
        install_file "$bin/\#(target)" "\#(name)" 755

        """#
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
