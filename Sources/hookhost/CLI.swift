import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// Entry point: dispatches to a subcommand and maps errors to exit codes (0 ok, 1 runtime, 2 usage).
enum CLI {
    static let usage = """
    hookhost — verified, durable webhook function host for Gemini API events

    usage:
      hookhost demo                      (one command: a host, the example functions, every event type)
      hookhost demo --api-only DIR [--listen ADDR]   (only the stand-in files/batches API, serving DIR)
      hookhost run [TYPE] --event FILE | --data JSON [--result FILE] [--functions DIR | --function PATH]
                                         (run a function once, here, as the host would; exit 0 if ok)
      hookhost new NAME --lang sh|python|swift [--functions DIR] [--dir DIR]   (a function skeleton)
      hookhost serve [--listen ADDR] [--secrets S] [--data DIR] [--functions DIR] [...]
      hookhost send URL --type T [--data JSON | --body FILE] [--secret whsec_… | --jwt-key PEM --kid K [--aud A]] [--id ID]
      hookhost keys new DIR              (an RSA-2048 key pair and JWKS for testing JWT deliveries)
      hookhost functions [--functions DIR] [--data DIR] [--json]
      hookhost functions route --type T [--metadata JSON]   (which function a delivery would run, and why)
      hookhost functions pause NAME | resume NAME [--data DIR]   (hold a function's runs back; its deliveries wait)
      hookhost deliveries list [--state S] [--type T] [--function F] [--since T] [--until T] [--json] [--data DIR]
      hookhost deliveries show ID | replay ID | retry-dead [--type T] | purge --dead [--type T]
      hookhost deliveries replay|purge --state S [--function F] [--type T] [--since T] [--until T] [--dry-run]
      hookhost status [--data DIR] [--json]  (ready or not and why, sources, functions, queue, dead letters, errors)
      hookhost drain [--handover URL] [--wait SECONDS] [--data DIR]   (stop taking deliveries; hand the unfinished to a peer)
      hookhost reconcile [--since 48h] [--apply] [--operation NAME] [--interaction ID] [--json] [--data DIR]
                                         (jobs finished whose event never came; --apply admits it)
      hookhost webhooks create|list|get|update|delete|rotate|ping …   (the Gemini project's webhooks)
      hookhost help COMMAND              (or COMMAND --help / -h)
      hookhost help settings             (every setting: flag, default, range, meaning)

    `--` ends the options: what follows is taken as is (hookhost deliveries show -- --odd-id).
    Every serve setting is also an environment variable (HOOKHOST_…); reference: docs/reference.md.
    """

    static func main(_ args: [String]) -> Int32 {
        guard let command = args.first else { print(usage); return 2 }
        let rest = Array(args.dropFirst())
        do {
            switch command {
            case "serve": return try ServeCommand.run(rest)
            case "send": return try SendCommand.run(rest)
            case "functions": return try FunctionsCommand.run(rest)
            case "deliveries": return try DeliveriesCommand.run(rest)
            case "status": return try StatusCommand.run(rest)
            case "drain": return try DrainCommand.run(rest)
            case "webhooks": return try WebhooksCommand.run(rest)
            case "demo": return try DemoCommand.run(rest)
            case "keys": return try KeysCommand.run(rest)
            case "run": return try RunCommand.run(rest)
            case "new": return try NewCommand.run(rest)
            case "reconcile": return try ReconcileCommand.run(rest)
            case "help", "--help", "-h":
                if rest.count > 1 { throw UsageError("help: unexpected argument \"\(rest[1])\"") }
                return help(rest.first ?? "")
            case "version", "--version":
                if rest == ["--help"] || rest == ["-h"] { return help(command) }
                if let extra = rest.first { throw UsageError("version: unexpected argument \"\(extra)\"") }
                print("hookhost \(BuildInfo.version)"); return 0
            default: throw UsageError("unknown command \"\(command)\" (try hookhost --help)")
            }
        } catch let e as ConfigError {
            fail("configuration error: \(e.setting): \(e.message)")
            return 2
        } catch let e as UsageError where e.isHelpRequest {
            return help(command)
        } catch let e as UsageError {
            fail(e.message)
            return 2
        } catch let e as RuntimeError {
            fail(e.message)
            return 1
        } catch {
            fail("\(error)")
            return 1
        }
    }

    static func help(_ command: String) -> Int32 {
        switch command {
        case "serve": print(ServeCommand.help)
        case "send": print(SendCommand.help)
        case "functions": print(FunctionsCommand.help)
        case "deliveries": print(DeliveriesCommand.help)
        case "status": print(StatusCommand.help)
        case "drain": print(DrainCommand.help)
        case "webhooks": print(WebhooksCommand.help)
        case "demo": print(DemoCommand.help)
        case "keys": print(KeysCommand.help)
        case "run": print(RunCommand.help)
        case "new": print(NewCommand.help)
        case "reconcile": print(ReconcileCommand.help)
        // The settings table of docs/reference.md, generated from the code (a test compares them).
        case "settings": print(HostConfig.referenceTable)
        default: print(usage)
        }
        return 0
    }

    /// The failure is the last line on stderr: log lines still in the log buffer go first.
    static func fail(_ message: String) {
        LogSink.shared(fd: 2).flush()
        _ = LogSink.writeAll(2, Array("hookhost: \(message)\n".utf8))
    }
}

/// Wrong arguments: exit 2. Also carries a request for help (`-h`/`--help`), answered with exit 0.
struct UsageError: Error {
    let message: String
    let isHelpRequest: Bool
    init(_ m: String) { message = m; isHelpRequest = false }
    private init(help: Void) { message = "help"; isHelpRequest = true }
    static let helpRequest = UsageError(help: ())
}

/// The command ran but failed: exit 1.
struct RuntimeError: Error {
    let message: String
    init(_ m: String) { message = m }
}

/// `--name value` / `--name=value` options and positional arguments. `--` ends the options:
/// everything after it is positional, so an id that looks like an option can still be named.
struct Arguments {
    var options: [String: String] = [:]
    var flags: Set<String> = []
    var positional: [String] = []

    static let helpOptions: Set<String> = ["-h", "--help"]

    /// `valued` options take a value; `switches` don't. Anything else is a usage error. `-h` or
    /// `--help` as an option throws `UsageError.helpRequest` (also when an error comes first:
    /// asking for help wins). Where `takesAnyText` says the next positional is free text (a
    /// delivery id, which may well be `-h` or `--x`), any argument but one of the command's own
    /// options is taken as that positional.
    init(_ args: [String], valued: Set<String>, switches: Set<String> = [],
         takesAnyText: (_ positionalSoFar: [String]) -> Bool = { _ in false }) throws(UsageError) {
        var i = 0
        do throws(UsageError) {
            while i < args.count {
                let a = args[i]
                if a == "--" {
                    positional += args[(i + 1)...]
                    return
                }
                var name = a, value: String?
                if let eq = a.firstIndex(of: "="), a.hasPrefix("--") { name = String(a[..<eq]); value = String(a[a.index(after: eq)...]) }
                let known = a.hasPrefix("--") && (valued.contains(name) || switches.contains(name))
                let freeText = !known && takesAnyText(positional)
                if !freeText && Arguments.helpOptions.contains(a) { throw UsageError.helpRequest }
                if a.hasPrefix("--") && !freeText {
                    if switches.contains(name) && value == nil { flags.insert(name); i += 1; continue }
                    guard valued.contains(name) else { throw UsageError("unknown option \(name) (use -- before an argument that starts with --)") }
                    if value == nil {
                        i += 1
                        guard i < args.count else { throw UsageError("\(name) needs a value") }
                        value = args[i]
                    }
                    options[name] = value
                } else {
                    positional.append(a)
                }
                i += 1
            }
        } catch {
            if !error.isHelpRequest, args.dropFirst(i + 1).prefix(while: { $0 != "--" }).contains(where: Arguments.helpOptions.contains) {
                throw UsageError.helpRequest
            }
            throw error
        }
    }
}

extension Arguments {
    /// Refuses positional arguments past the `count` a command takes, naming the first extra one:
    /// silently ignoring it would let a typo (`list dead` for `list --state dead`) look like success.
    func expectPositional(atMost count: Int, _ command: String) throws(UsageError) {
        guard positional.count > count else { return }
        throw UsageError("\(command): unexpected argument \"\(positional[count])\"")
    }
}

func environment() -> [String: String] {
    var out: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    return out
}
