import Glibc
import Synchronization
import HookSupport
import HookNet

/// What other threads hand an event loop — an answer for one of its connections, or a connection
/// another loop accepted for it — and the eventfd that wakes the loop for them.
final class LoopMailbox: Sendable {
    enum Mail: Sendable { case answer(UInt64, HTTPResponse), adopt(Int32) }

    /// The eventfd the loop's epoll watches; lives as long as the loop.
    let wakeFD: Int32
    private let box = Mutex<(items: [Mail], closed: Bool)>(([], false))

    init(wakeFD: Int32) { self.wakeFD = wakeFD }

    /// Queues `mail` (from any thread). One wake-up per batch: the loop takes everything each
    /// time it wakes. After `close`, a connection offered is closed here: nobody would serve it.
    func post(_ mail: Mail) {
        let (wasEmpty, refused) = box.withLock { b -> (Bool, Bool) in
            if b.closed { return (false, true) }
            let empty = b.items.isEmpty
            b.items.append(mail)
            return (empty, false)
        }
        if refused, case .adopt(let fd) = mail { Glibc.close(fd) }
        if wasEmpty { wake() }
    }

    /// Wakes the loop without mail (stop requests).
    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// On the loop thread, after a wake-up: clears the eventfd and takes what is queued.
    func take() -> [Mail] {
        var v: UInt64 = 0
        _ = read(wakeFD, &v, 8)
        return box.withLock { b in
            let taken = b.items
            b.items.removeAll(keepingCapacity: true)
            return taken
        }
    }

    /// Refuses mail from now on and closes the connections still waiting in it; answers left
    /// are dropped with their connections.
    func close() {
        let left = box.withLock { b in
            b.closed = true
            defer { b.items.removeAll() }
            return b.items
        }
        for case .adopt(let fd) in left { Glibc.close(fd) }
    }
}
