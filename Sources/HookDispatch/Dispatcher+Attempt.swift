import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// One attempt of a function: build, launch, classify, record.
extension Dispatcher {
    /// One attempt, as a pipeline: build the invocation (pure) → launch → classify (pure) →
    /// record. A run the drain killed, or one the host could not start for lack of resources,
    /// records something else instead (see `launch`).
    func run(_ job: Job, type: String, function f: ResolvedFunction) {
        logger.info("started", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name)])
        let started = monotonicNow()
        var attempt: RunClassifier.Attempt
        var children: [ChildDelivery] = []
        if let sidecarError = f.sidecarError {
            attempt = RunClassifier.notStarted("sidecar unusable: \(sidecarError)")
        } else {
            let inv = Invocation.build(job: job, type: type, function: f, config: config, result: job.result)
            for name in inv.refusedPassEnv {
                logger.warn("pass_env: refusing a host-only variable", ["function": .string(f.name), "variable": .string(name)])
            }
            guard let (a, emitted) = launch(inv, job: job, type: type, function: f) else { return }
            attempt = a
            children = emitted
        }
        record(job, type, f, attempt, children, seconds: monotonicNow() - started)
    }

    /// Starts the invocation and waits for it. Nil when nothing is to be recorded for this
    /// attempt: shutting down, or re-queued after a resource shortage.
    private func launch(_ inv: Invocation, job: Job, type: String, function f: ResolvedFunction) -> (RunClassifier.Attempt, [ChildDelivery])? {
        var user = config.functionUser
        if let identities = config.functionIdentities {
            // Never the host's own user instead: a function without a uid of its own does not run.
            guard let u = identities.user(for: f.name) else {
                let why = "no free uid in \(FunctionUIDRange.setting) (\(identities.range)) for function \(f.name); widen the range or restart the host to free the uids of removed functions"
                logger.error("cannot start function", ["id": .string(job.id), "function": .string(f.name), "error": .string(why)])
                return (RunClassifier.notStarted(why), [])
            }
            user = u
        }
        // The work root exists after the first run: one mkdir, not one per path component.
        if mkdir(inv.workDir, 0o700) != 0 { _ = FileSystem.makeDirectories(inv.workDir) }
        if let u = user {
            // By descriptor, never following a link: the directory changes hands on the open one.
            let dir = FD(open(inv.workDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
            if !dir.isOpen || fchown(dir.raw, u.uid, u.gid) != 0 {
                logger.warn("cannot hand the work directory to the function user", ["dir": .string(inv.workDir), "error": .string(Errno().description)])
            }
        }
        // Usually left empty: one rmdir, and the walk only for what a function left in it.
        defer { if rmdir(inv.workDir) != 0 { FileSystem.removeTree(inv.workDir) } }
        var spec = ProcessSpec(executable: inv.executable, environment: inv.environment, workingDirectory: inv.workDir,
                               stdin: inv.stdin, timeout: inv.timeout)
        let runs = activeRuns
        spec.onStart = { [self] pid in
            runs.add(pid, job.id)
            flowStarted(job.id)
        }
        spec.onExit = { pid in runs.remove(pid) }
        spec.delivery = job.id
        spec.user = user
        if stopSpawning.load(ordering: .relaxed) {
            // Shutting down past the grace period: leave it `running`; the next start reruns it.
            logger.info("not started: shutting down", ["id": .string(job.id), "function": .string(f.name)])
            return nil
        }
        // Everything above overlapped the disk sync of the start record; the function itself
        // starts only once that record is durable ("attempt + 1 after a crash").
        job.recorded?.wait()
        flowSpawning(job.id)
        do {
            let r = try launcher.run(spec)
            shortageStreak.store(0, ordering: .relaxed)
            if stopSpawning.load(ordering: .relaxed), Dispatcher.cutShortByShutdown(r.termination) {
                // Stopped by the drain, not by its own fault: the delivery stays `running` on
                // disk and resumes at the next start (attempt + 1), spending no attempt here.
                logger.info("interrupted by shutdown; resumes at the next start", ["id": .string(job.id), "function": .string(f.name)])
                return nil
            }
            var a = RunClassifier.classify(r, timeout: inv.timeout)
            guard a.outcome == .ok else { return (a, []) }
            // Only a run that succeeded emits; read before the work directory goes.
            switch Dispatcher.emitted(by: job, in: inv.workDir, writer: user?.uid ?? getuid(), limits: config.emit) {
            case .success(let children): return (a, children)
            case .failure(let e):
                a.outcome = .failed
                a.failure = e.description
                return (a, [])
            }
        } catch where error.isResourceShortage {
            requeueAfterShortage(job, type, f, error)
            return nil
        } catch {
            logger.error("cannot start function", ["id": .string(job.id), "function": .string(f.name), "error": .string(error.description)])
            return (RunClassifier.notStarted(error.description), [])
        }
    }

    /// `hookhost_emitted_total` by type. Functions name the types: past `maxEmittedTypeSeries`
    /// distinct ones, the rest count as `other` (a series per type would otherwise be unbounded).
    private func countEmitted(_ children: [ChildDelivery]) {
        var byType: [String: Int] = [:]
        for c in children { byType[c.type, default: 0] += 1 }
        for (type, n) in byType {
            let label = emittedTypes.withLock { seen in
                if seen.contains(type) { return type }
                guard seen.count < Dispatcher.maxEmittedTypeSeries else { return "other" }
                seen.insert(type)
                return type
            }
            metrics.add("hookhost_emitted_total", labels: [("type", label)], Double(n))
        }
    }

    /// The events the run wrote to `HOOKHOST_EMIT`, checked whole; none when it wrote no file.
    static func emitted(by job: Job, in workDir: String, writer: uid_t, limits: EmitLimits) -> Result<[ChildDelivery], EmitError> {
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(workDir + "/" + EmitFile.name, limit: EmitLimits.maxFileBytes, writtenBy: writer)
        } catch where error.isMissing {
            return .success([])
        } catch {
            if case .tooLarge = error { return .failure(EmitError(line: nil, message: "the file is larger than \(EmitLimits.maxFileBytes >> 20) MiB")) }
            if case .cannotOpen(_, let code) = error, code == ELOOP { return .failure(EmitError(line: nil, message: "\(EmitFile.name) is a symbolic link")) }
            return .failure(EmitError(line: nil, message: error.description))
        }
        return Result { () throws(EmitError) in try EmitFile.parse(bytes, parentID: job.id, parentHead: job.head, limits: limits) }
    }


    /// The host is short of descriptors, processes or memory: not the delivery's fault, so it
    /// goes back to the queue with backoff and the same attempt number (the attempt never ran).
    private func requeueAfterShortage(_ job: Job, _ type: String, _ f: ResolvedFunction, _ error: SpawnError) {
        let streak = shortageStreak.add(1, ordering: .relaxed).newValue
        let delay = config.retry.shortageDelay(streak: streak, first: config.shortageRetryDelay, unit: random())
        let now = clock.now()
        let why = "\(error.description); re-queued without spending an attempt"
        var change = StateChange(id: job.id, state: .retryScheduled, attempt: job.attempt - 1, at: now, nextAt: now + delay,
                                 error: why, function: f.name)
        change.retryLaterSince = job.retryLaterSince  // the function gave no answer: a "not ready" run goes on
        spool.finish(change)
        logger.warn("cannot start function: host short of resources", ["id": .string(job.id), "type": .string(type), "function": .string(f.name),
                                                                       "error": .string(why), "in_s": .double(delay)])
    }

    private func record(_ job: Job, _ type: String, _ f: ResolvedFunction, _ a: RunClassifier.Attempt, _ children: [ChildDelivery], seconds: Double) {
        let now = clock.now()
        var change = RunClassifier.change(for: job, function: f, attempt: a, retry: config.retry, retryLaterFor: config.retryLaterFor,
                                          now: now, seconds: seconds, unit: random())
        // The outcome record keeps the result the function read: `deliveries show` rebuilds its
        // stdin from it once the file itself is gone.
        change.result = job.result
        if !children.isEmpty {
            // The children and the parent's `done` in one durable write: both or neither.
            spool.finish(change, .durable, emitting: children)
            countEmitted(children)
            logger.info("emitted", ["id": .string(job.id), "function": .string(f.name), "events": .int(children.count),
                                    "depth": .int(children[0].head.chain?.depth ?? 1)])
            if job.result != nil { fetch?.discard(job.id) }
        } else if job.result == nil {
            // Durable before in effect, but not waited for: this worker's next start record then
            // rides the same disk sync (one sync per run instead of two).
            spool.finish(change, .background)
        } else {
            // The downloaded result goes only once the outcome that no longer needs it is durable.
            spool.finish(change)
            if !change.state.isUnfinished { fetch?.discard(job.id) }
        }
        metrics.run(function: f.name, outcome: a.outcome, seconds: seconds)
        logger.info("finished", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name),
                                 "outcome": .string(a.outcome.rawValue), "ms": .int(Int(seconds * 1000)),
                                 "stderr": .string(String(a.stderrTail.suffix(1024)))])
        if let head = a.stdoutHead {
            logger.warn("stdout is not a JSON object; not stored as the output (its first bytes are kept with the run)",
                        ["id": .string(job.id), "function": .string(f.name), "stdout_head": .string(head)])
        }
        switch change.state {
        case .retryScheduled:
            logger.info("retry_scheduled", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name),
                                            "in_s": .double((change.nextAt ?? now) - now), "error": .string(change.error ?? "")])
        case .dead:
            metrics.add("hookhost_dead_letters_total", labels: [("function", f.name)])
            logger.warn("dead", ["id": .string(job.id), "type": .string(type), "attempt": .int(job.attempt), "function": .string(f.name),
                                 "error": .string(change.error ?? "")])
        default: break
        }
    }
}
