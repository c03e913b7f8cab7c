import HookhostKit

/// `hookhost serve`.
enum ServeCommand {
    static var help: String {
        var s = """
        hookhost serve — run the webhook host (the container's entrypoint)

        Every setting is an environment variable and a flag (the flag wins):
        """
        for name in HostConfig.settingNames { s += "\n  \(HostConfig.flag(for: name).padded(26)) \(name)" }
        return s + "\n\nSIGTERM drains and exits 0; SIGHUP re-reads the secrets file."
    }

    static func run(_ args: [String]) throws -> Int32 {
        if asksForHelp(args) { throw UsageError.helpRequest }
        let config = try HostConfig.load(environment: environment(), arguments: args)
        HTTPClient.globalInit()
        let logger = Logger(level: config.logLevel)
        return try Host(config: config, logger: logger).run()
    }
}

extension ServeCommand {
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
