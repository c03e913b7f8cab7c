import Glibc
import Synchronization
import HookSupport
import HookNet

/// What other threads hand an event loop — an answer for one of its connections, work to run
/// there (`HTTPReply.onLoop`), or a connection another loop accepted for it — and the eventfd that
/// wakes the loop for them.
final class LoopMailbox: Sendable {
    enum Mail: Sendable { case answer(UInt64, HTTPResponse), run(@Sendable () -> Void), adopt(Int32) }

    /// The eventfd the loop's epoll watches; lives as long as the loop.
    let wakeFD: Int32
    private let box = Mutex<(items: [Mail], closed: Bool)>(([], false))

    init(wakeFD: Int32) { self.wakeFD = wakeFD }

    /// Queues `mail` (from any thread). One wake-up per batch: the loop takes everything each
    /// time it wakes. After `close`, a connection offered is closed here (nobody would serve it)
    /// and work runs here: it counts and logs what happened, answered or not.
    func post(_ mail: Mail) {
        let (wasEmpty, refused) = box.withLock { b -> (Bool, Bool) in
            if b.closed { return (false, true) }
            let empty = b.items.isEmpty
            b.items.append(mail)
            return (empty, false)
        }
        if refused { LoopMailbox.discard(mail) }
        if wasEmpty { wake() }
    }

    /// Mail nobody will take: connections closed, work still done.
    private static func discard(_ mail: Mail) {
        switch mail {
        case .adopt(let fd): Glibc.close(fd)
        case .run(let work): work()
        case .answer: break
        }
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

    /// Refuses mail from now on, closes the connections still waiting in it and runs the work
    /// left; answers left are dropped with their connections.
    func close() {
        let left = box.withLock { b in
            b.closed = true
            defer { b.items.removeAll() }
            return b.items
        }
        for mail in left { LoopMailbox.discard(mail) }
    }
}
