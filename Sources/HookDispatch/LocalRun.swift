import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// One run of a function outside the host, for `hookhost run` (the author's local loop). It goes
/// through the worker's own steps — `Invocation.build` (stdin document, environment, scratch
/// directory, timeout), the launcher, `RunClassifier` — so what passes here passes in the host;
/// only the spool, the retry schedule and the delivery's signature are left out.
package enum LocalRun {
    /// The delivery the function is told about.
    package struct Delivery: Sendable {
        package var id: String
        package var attempt: Int
        package var receivedAt: Double
        /// Canonical and valid (as the host routes it).
        package var type: String
        /// The webhook body as it would arrive.
        package var body: [UInt8]
        package var result: FetchedResult?

        package init(id: String, attempt: Int, receivedAt: Double, type: String, body: [UInt8], result: FetchedResult?) {
            self.id = id
            self.attempt = attempt
            self.receivedAt = receivedAt
            self.type = type
            self.body = body
            self.result = result
        }
    }

    /// How the run went, in the host's terms.
    package struct Report: Sendable {
        package var outcome: RunOutcome
        /// Why it did not succeed (nil for ok), worded as the host records it.
        package var failure: String?
        package var exitCode: Int?
        /// stdout as captured (the host keeps at most 1 MiB).
        package var stdout: [UInt8] = []
        package var stdoutTruncated = false
        /// Whether the host would store stdout as the delivery's output (one JSON object).
        package var storedAsOutput = false
        package var stderrTail = ""
        package var seconds: Double = 0
        package var timeout: Double = 0
        /// The function's environment, exactly (empty when it did not start).
        package var environment: [String] = []
        /// `pass_env` names refused because they are the host's own.
        package var refusedPassEnv: [String] = []
        /// The events the run wrote to `HOOKHOST_EMIT` (ok runs only), as the host would store them.
        package var emitted: [ChildDelivery] = []
    }

    /// Runs `function` once for `delivery` and waits for it. `config` supplies what the host's
    /// would: the base environment, the variables `pass_env` may pick from, the default timeout,
    /// and `workRoot`, under which the scratch directory is made and removed afterwards.
    /// `onStart`/`onExit` see the process group's id while it may be signalled (as `ProcessSpec`).
    package static func run(_ delivery: Delivery, function f: ResolvedFunction, config: DispatcherConfig,
                            launcher: any ProcessLauncher = PosixProcessLauncher(),
                            onStart: (@Sendable (Int32) -> Void)? = nil, onExit: (@Sendable (Int32) -> Void)? = nil) -> Report {
        if let sidecarError = f.sidecarError { return report(RunClassifier.notStarted("sidecar unusable: \(sidecarError)")) }
        let inv = Invocation.build(job: Job(local: delivery), type: delivery.type, function: f, config: config, result: delivery.result)
        guard mkdir(inv.workDir, 0o700) == 0 || FileSystem.makeDirectories(inv.workDir) else {
            return report(RunClassifier.notStarted("cannot create the scratch directory \(inv.workDir): \(String(cString: strerror(errno)))"))
        }
        defer { FileSystem.removeTree(inv.workDir) }
        var spec = ProcessSpec(executable: inv.executable, environment: inv.environment, workingDirectory: inv.workDir,
                               stdin: inv.stdin, timeout: inv.timeout)
        spec.onStart = onStart
        spec.onExit = onExit
        spec.delivery = delivery.id
        var r: Report
        var emitted: [ChildDelivery] = []
        let started = monotonicNow()
        do {
            let result = try launcher.run(spec)
            var a = RunClassifier.classify(result, timeout: inv.timeout)
            if a.outcome == .ok {
                // As the host reads them: a bad line fails the run, nothing is emitted.
                switch Dispatcher.emitted(by: Job(local: delivery), in: inv.workDir, writer: getuid(), limits: config.emit) {
                case .success(let children): emitted = children
                case .failure(let e): a.outcome = .failed; a.failure = e.description
                }
            }
            r = report(a)
            r.emitted = emitted
            r.stdout = result.stdout
            r.stdoutTruncated = result.stdoutTruncated
            r.environment = inv.environment
        } catch {
            r = report(RunClassifier.notStarted(error.description))
        }
        r.seconds = monotonicNow() - started
        r.timeout = inv.timeout
        r.refusedPassEnv = inv.refusedPassEnv
        return r
    }

    private static func report(_ a: RunClassifier.Attempt) -> Report {
        var r = Report(outcome: a.outcome, failure: a.failure, exitCode: a.exitCode)
        r.storedAsOutput = a.output != nil
        r.stderrTail = a.stderrTail
        return r
    }
}

extension Job {
    /// A first-budget attempt of a delivery that never went through the spool.
    init(local d: LocalRun.Delivery) {
        id = d.id
        type = d.type
        receivedAt = d.receivedAt
        verifiedBy = .hmac
        jwt = nil
        attempt = d.attempt
        attemptsInBudget = d.attempt
        attemptBase = 0
        retryLaterSince = nil
        result = d.result
        body = d.body
        // Read here as admission would have.
        head = DeliveryHead.derive(body: d.body)?.head ?? DeliveryHead()
        recorded = nil
    }
}
