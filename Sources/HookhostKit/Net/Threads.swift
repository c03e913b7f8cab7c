import CSys
import Glibc

/// Changes the calling thread's nice value; false when not permitted (raising priority needs
/// CAP_SYS_NICE).
@discardableResult
public func setCurrentThreadNice(_ nice: Int32) -> Bool { hh_set_thread_nice(nice) == 0 }

/// Starts a detached OS thread running `body`, first setting its nice value when given (best
/// effort). Used for event loops, the spool writer and workers, which block in syscalls and so
/// must not sit on Swift's cooperative pool.
public func startThread(name: String, nice: Int32? = nil, _ body: @escaping @Sendable () -> Void) {
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
        _ = hh_set_thread_name(String(box.name.prefix(15)))
        box.body()
        return nil
    }, ctx)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_detach(tid)
}
