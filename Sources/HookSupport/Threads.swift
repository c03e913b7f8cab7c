import CSys
import Glibc
import Synchronization

/// Changes the calling thread's nice value; false when not permitted (raising priority needs
/// CAP_SYS_NICE).
@discardableResult
public func setCurrentThreadNice(_ nice: Int32) -> Bool { hh_set_thread_nice(nice) == 0 }

/// The calling thread's name as `startThread` set it (at most 15 bytes); tests use it to tell
/// which thread ran a piece of work.
public func currentThreadName() -> String {
    var buf = [CChar](repeating: 0, count: 16)
    guard hh_get_thread_name(&buf, buf.count) == 0 else { return "" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A started OS thread. `join()` waits for it to return; a handle dropped without joining
/// detaches the thread (its resources are freed when it ends), so fire-and-forget use stays safe.
public final class ThreadHandle: Sendable {
    /// pthread_t is an integer on Linux, hence Sendable.
    private let tid: pthread_t
    private let joined = Atomic<Bool>(false)

    fileprivate init(_ tid: pthread_t) { self.tid = tid }

    deinit { if !joined.load(ordering: .relaxed) { pthread_detach(tid) } }

    /// Waits until the thread has returned. Joining twice is harmless.
    public func join() {
        guard !joined.load(ordering: .acquiring) else { return }
        if pthread_join(tid, nil) == 0 { joined.store(true, ordering: .releasing) }
    }

    /// Waits until the thread has returned or the `monotonicNow()` time `deadline` passed;
    /// true when it returned (it can be joined again after a timeout).
    @discardableResult
    public func join(until deadline: Double) -> Bool {
        guard !joined.load(ordering: .acquiring) else { return true }
        guard hh_thread_join_until(tid, deadline) == 0 else { return false }
        joined.store(true, ordering: .releasing)
        return true
    }
}

/// Starts an OS thread running `body` with every process signal blocked, first setting its nice
/// value when given (best effort).
/// Used for event loops, the spool writer and workers, which block in syscalls and so must not
/// sit on Swift's cooperative pool. Keep the handle to `join()` it at shutdown; discarding it
/// detaches the thread.
@discardableResult
public func startThread(name: String, nice: Int32? = nil, _ body: @escaping @Sendable () -> Void) -> ThreadHandle {
    let inner: @Sendable () -> Void = {
        if let nice { setCurrentThreadNice(nice) }
        body()
    }
    final class Box: Sendable {
        let body: @Sendable () -> Void
        let name: String
        init(_ b: @escaping @Sendable () -> Void, _ n: String) { body = b; name = n }
    }
    let ctx = Unmanaged.passRetained(Box(inner, name)).toOpaque()
    var tid = pthread_t()
    let rc = pthread_create(&tid, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        // Process signals (SIGTERM, SIGHUP…) are for the thread that waits for them: a background
        // thread started before that thread blocked them (the log writer) would otherwise inherit
        // an open mask and die by a signal's default action.
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
        _ = hh_set_thread_name(String(box.name.prefix(15)))
        box.body()
        return nil
    }, ctx)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return ThreadHandle(tid)
}
