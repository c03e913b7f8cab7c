import CSys
import Glibc

/// Many readers at once, or one writer. A waiting writer goes before readers that come after it,
/// so a steady stream of short reads cannot hold it off; in exchange a thread must never take
/// the lock for reading while it already holds it.
public final class ReadWriteLock: @unchecked Sendable {  // safe: the pthread object is heap-allocated once and only used through pthread calls
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    public init() {
        let rc = hh_rwlock_init_writer_first(lock)
        precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` shared with other readers.
    public func reading<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` alone: no reader and no other writer meanwhile.
    public func writing<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
