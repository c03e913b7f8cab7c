import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// What `hookhost new` writes and how: a script and its sidecar placed without replacing anything, or a Swift package.
extension NewCommand {
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
}
