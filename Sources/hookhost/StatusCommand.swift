import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost status`: the running host's own report through its control socket, or — with no host
/// running — what the data directory and the functions directory show, said to be that.
enum StatusCommand {
    static let help = """
    hookhost status [--data DIR] [--functions DIR] [--json]

    Whether the host is ready and why not, what it verifies with (HMAC secret fingerprints, the
    JWKS: source, keys, age, last error), where results are downloaded from, its functions and
    their problems, the queue (depth, oldest unfinished), dead letters by function and the latest
    errors. Asks the running `hookhost serve` through DATA/control.sock. With no host running it
    says NOT RUNNING and shows what the data directory holds (queue, dead letters, errors) and the
    functions in --functions.

      --data DIR       the data directory (HOOKHOST_DATA, default ./data)
      --functions DIR  with no host running: the functions to report on (HOOKHOST_FUNCTIONS,
                       default ./Functions/bin); a running host reports its own
      --json           the control socket's JSON (GET /status) instead of text
    Exit status: 0 running and ready, 1 not ready or not running (or no answer), 2 usage error.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--data", "--functions"], switches: ["--json"])
        try a.expectPositional(atMost: 0, "status")
        let dataSetting = a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data"
        guard !dataSetting.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        let functionsSetting = a.options["--functions"] ?? environment()["HOOKHOST_FUNCTIONS"] ?? "./Functions/bin"
        guard !functionsSetting.isEmpty else { throw UsageError("--functions (HOOKHOST_FUNCTIONS) is empty; give the functions directory") }
        let data = FileSystem.absolute(dataSetting)
        try DeliveriesCommand.checkDataDirectory(data)
        let table = FunctionTable(directory: FileSystem.absolute(functionsSetting))
        let (status, body) = try DeliveriesCommand.perform("GET", "/status", data: data, functions: table)
        guard status == 200, var report = StatusReport(json: body) else {
            let msg = (try? JSONParser.parse(body))?["error"]?.stringValue ?? String(decoding: body, as: UTF8.self)
            throw RuntimeError("the host's status could not be read: \(msg)")
        }
        if !report.running && report.data == nil { report.data = data }
        if a.flags.contains("--json") {
            print(String(decoding: report.running ? body : report.json, as: UTF8.self))
        } else {
            print(report.text(now: SystemClock().now()), terminator: "")
        }
        return report.ready ? 0 : 1
    }
}
