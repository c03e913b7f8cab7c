import Glibc
import HookhostKit
import HookSupport
import HookFetch

/// `hookhost drain`: starts a drain of the running host through its control socket and follows
/// it to the end.
enum DrainCommand {
    static let help = """
    hookhost drain [--handover URL] [--wait SECONDS] [--data DIR] [--json]

    Drains the running `hookhost serve` on DATA (through DATA/control.sock): from now on it answers
    deliveries 503 + Retry-After and /readyz 503; runs under way finish; deliveries due now may
    still start and finish within the wait. With --handover every other unfinished delivery
    (backing off, waiting after exit 75, paused, not started in time) is handed to URL — a peer
    replica or the load balancer in front of the replicas (/hookhost/handover is added to a URL
    without a path) — signed with HOOKHOST_PEER_SECRET, which both must share, and is marked
    handed_over here only once the peer stored it. Without --handover the rest stays in this
    host's spool. The host stays draining afterwards: stop it (SIGTERM) when this returns.
    Progress is printed until the drain is done; a second `hookhost drain` while one runs follows it.

      --handover URL   where unfinished deliveries go
      --wait SECONDS   how long running and due deliveries may take here (default
                       HOOKHOST_SHUTDOWN_GRACE of the host); the hand-over follows
      --data DIR       the data directory (HOOKHOST_DATA, default ./data)
      --json           print the final progress as JSON (GET /drain)
    Exit status: 0 everything unfinished was handed over or finished (without --handover: what
    ran and was due finished in time; the rest stays, as printed); 1 something is left — the wait
    ran out, the peer refused (a wrong or missing peer secret) or hand-overs failed — or no host
    runs on DATA; 2 usage error.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--handover", "--wait", "--data"], switches: ["--json"])
        try a.expectPositional(atMost: 0, "drain")
        let dataSetting = a.options["--data"] ?? environment()["HOOKHOST_DATA"] ?? "./data"
        guard !dataSetting.isEmpty else { throw UsageError("--data (HOOKHOST_DATA) is empty; give the data directory") }
        let data = FileSystem.absolute(dataSetting)
        try DeliveriesCommand.checkDataDirectory(data)
        if let w = a.options["--wait"], Double(w).map({ !$0.isFinite || $0 < 0 || $0 > 86_400 }) ?? true {
            throw UsageError("--wait must be seconds 0 … 86400, not \(w)")
        }
        if let h = a.options["--handover"], case .failure(let e) = Drainer.target(h) { throw UsageError(e.description) }
        switch ServerProbe.check(data, create: false) {
        case .stopped(let fd):
            if fd >= 0 { close(fd) }
            throw RuntimeError("no host is running on \(data): nothing to drain (its unfinished deliveries stay in the spool until a host starts on it)")
        case .unusable(let why): throw RuntimeError(why)
        case .running: break
        }
        var query: [String] = []
        if let h = a.options["--handover"] { query.append("handover=" + ControlEndpoint.percentEncode(h)) }
        if let w = a.options["--wait"] { query.append("wait=" + w) }
        let (status, body) = try DeliveriesCommand.perform("POST", "/drain" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), data: data)
        switch status {
        case 200: print("draining\(a.options["--handover"].map { ": handing over to " + URLRedaction.withoutQuery($0) } ?? " (no hand-over: what does not finish here stays)")")
        case 409 where DrainCommand.error(body) == DrainError.alreadyDraining.description:
            print("a drain is already under way; following it")
        default: throw RuntimeError("the drain did not start: \(DrainCommand.error(body))")
        }
        let final = try follow(data)
        if a.flags.contains("--json") { print(String(decoding: final.json, as: UTF8.self)) }
        if let reason = final.reason { print(reason) }
        return final.ok ? 0 : 1
    }

    /// Polls `GET /drain`, printing each new state, until the drain is done.
    static func follow(_ data: String) throws -> DrainProgress {
        let pause = Monitor()
        var last = ""
        while true {
            let (status, body) = try DeliveriesCommand.perform("GET", "/drain", data: data)
            guard status == 200, let p = DrainProgress(json: body) else { throw RuntimeError("the host's drain progress could not be read: \(error(body))") }
            if p.text != last { print(p.text); last = p.text }
            if p.done { return p }
            pause.locked { pause.wait(seconds: 0.5) }
        }
    }

    static func error(_ body: [UInt8]) -> String {
        (try? JSONParser.parse(body))?["error"]?.stringValue ?? String(decoding: body, as: UTF8.self)
    }
}
