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
        let config = try HostConfig.load(environment: environment(), arguments: args)
        HTTPClient.globalInit()
        let logger = Logger(level: config.logLevel)
        return try Host(config: config, logger: logger).run()
    }
}

extension String {
    func padded(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
