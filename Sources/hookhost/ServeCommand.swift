import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost serve`.
enum ServeCommand {
    static var help: String {
        var s = """
        hookhost serve — run the webhook host (the container's entrypoint)

        Every setting is an environment variable and a flag (the flag wins):
        """
        for name in HostConfig.settingNames {
            let doc = HostConfig.documentation[name]
            s += "\n  \(HostConfig.flag(for: name).padded(26)) \(name)"
            s += "\n      \(doc?.meaning ?? "")"
            s += "\n      default: \(doc?.defaultText ?? "—")"
            if let range = HostConfig.rangeText(name) { s += "; range: \(range)" }
        }
        return s + """


        SIGTERM drains (running functions get SIGTERM, then SIGKILL after --shutdown-grace) and exits 0;
        SIGHUP re-reads the secrets file and the JWKS. Full reference: docs/reference.md.
        """
    }

    static func run(_ args: [String]) throws -> Int32 {
        if asksForHelp(args) { throw UsageError.helpRequest }
        let config = try HostConfig.load(environment: environment(), arguments: args)
        LogSink.shared(fd: 2).setCapacity(config.logBuffer)
        let logger = Logger(level: config.logLevel)
        scrubSecretFlags(args)  // the host warns about them once it is up
        return try Host(config: config, logger: logger).run()
    }
}

extension ServeCommand {
    /// Blanks the values of secret flags in the process's argv, which every local user and every
    /// function can read from /proc/<pid>/cmdline; the parsed config already holds them.
    static func scrubSecretFlags(_ args: [String]) {
        let locations = HostConfig.secretArguments(in: args)
        guard !locations.isEmpty else { return }
        // `args` is the tail of the real argv (after the program name and `serve`).
        let first = CommandLine.arguments.count - args.count
        guard first >= 0, Array(CommandLine.arguments[first...]) == args else { return }
        for l in locations { ProcessArguments.blank(index: first + l.index, from: l.offset) }
    }

    /// `-h`/`--help` as an option; every serve flag takes a value, so `--secrets-file --help`
    /// names a file, not a request for help.
    static func asksForHelp(_ args: [String]) -> Bool {
        var i = 0
        while i < args.count {
            let a = args[i]
            if Arguments.helpOptions.contains(a) { return true }
            if a.hasPrefix("--") && !a.contains("=") { i += 1 }  // skip the value
            i += 1
        }
        return false
    }
}

extension String {
    func padded(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
