import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// Everything one run of a function needs, decided before anything is started: which
/// executable, its exact environment, its stdin document, its scratch directory and limits.
/// Pure: building it touches no file and no process, so every rule about what a function sees
/// is testable from literals.
package struct Invocation: Sendable, Equatable {
    let executable: String
    let environment: [String]
    let workDir: String
    let stdin: [UInt8]
    let timeout: Double
    /// `pass_env` names that were refused (host-only variables), for the caller to report.
    let refusedPassEnv: [String]

    /// Builds the run of `job` by `function`. `hostEnvironment` holds the host variables a
    /// sidecar may pass (captured at start); `result` is what was downloaded for it, if anything.
    static func build(job: Job, type: String, function f: ResolvedFunction, config: DispatcherConfig,
                      result: FetchedResult? = nil) -> Invocation {
        let workDir = config.workRoot + "/" + Invocation.directoryName(for: job.id) + ".\(job.attempt)"
        let stdin = FunctionInput.encode(id: job.id, attempt: job.attempt, receivedAt: job.receivedAt, verifiedBy: job.verifiedBy, jwt: job.jwt,
                                         chain: job.head.chain, type: type, body: job.body, userMetadata: job.head.userMetadata?[...], result: result)
        var refused: [String] = []
        var env: [String] = []
        // Later entries win: pass_env, then the sidecar's explicit env, then the host's own.
        for name in f.settings.passEnv {
            if isHostOnly(name) { refused.append(name); continue }
            if let value = config.passableEnvironment[name] { env.append("\(name)=\(value)") }
        }
        env += f.settings.env.map { "\($0.0)=\($0.1)" }
        env += config.baseEnvironment
        env += ["HOOKHOST_EVENT_TYPE=\(type)", "HOOKHOST_DELIVERY_ID=\(job.id)", "HOOKHOST_ATTEMPT=\(job.attempt)",
                "HOOKHOST_WORK_DIR=\(workDir)", "HOOKHOST_EMIT=\(workDir)/\(EmitFile.name)"]
        if let result { env.append("HOOKHOST_RESULT_PATH=\(result.path)") }
        return Invocation(executable: f.path, environment: dedupeEnvironment(env), workDir: workDir, stdin: stdin,
                          timeout: f.settings.timeout ?? config.functionTimeout, refusedPassEnv: refused)
    }

    /// A delivery's directory name (scratch dirs, results): ids may hold `/`, `..` or be long,
    /// so the name is a hash of the id.
    static func directoryName(for id: String) -> String {
        String(hexString(Crypto.sha256(Array(id.utf8))).prefix(24))
    }

    /// Variables never handed to a function by name: the host's settings and webhook secrets.
    package static func isHostOnly(_ name: String) -> Bool { name.hasPrefix("HOOKHOST_") }

    /// Later entries win, so host variables override a sidecar that tries to set them.
    static func dedupeEnvironment(_ env: [String]) -> [String] {
        var index: [String: Int] = [:]
        var out: [String] = []
        for e in env {
            let name = String(e.prefix { $0 != "=" })
            if let i = index[name] { out[i] = e } else { index[name] = out.count; out.append(e) }
        }
        return out
    }
}
