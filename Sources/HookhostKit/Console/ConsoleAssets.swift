import HookHTTP

/// The console's page, style and script, compiled into the binary: no build step, no files to
/// install next to it, nothing fetched from elsewhere (it works without a network).
public enum ConsoleAssets {
    public enum Name: String, Sendable, CaseIterable {
        case index = "index.html"
        case style = "console.css"
        case script = "console.js"
    }

    public static func contentType(_ name: Name) -> String {
        switch name {
        case .index: "text/html; charset=utf-8"
        case .style: "text/css; charset=utf-8"
        case .script: "text/javascript; charset=utf-8"
        }
    }

    /// One script file, kept in several Swift files only to keep each small.
    public static func text(_ name: Name) -> String {
        switch name {
        case .index: html
        case .style: css
        case .script: scriptCore + scriptPages + scriptDelivery
        }
    }

    private static let bodies: [Name: [UInt8]] = Dictionary(uniqueKeysWithValues: Name.allCases.map { ($0, Array(text($0).utf8)) })

    /// Revalidated on every load (`no-cache`): a new binary's page must not mix with an old script.
    static func response(_ name: Name) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", contentType(name)), ("Cache-Control", "no-cache")], body: bodies[name] ?? [])
    }
}
