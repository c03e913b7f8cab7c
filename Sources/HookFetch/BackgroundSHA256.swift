import Dispatch
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// SHA-256 computed on its own thread, so hashing overlaps receiving instead of adding to it:
/// inline, it was a third of the fetcher's CPU and halved loopback throughput next to `curl -o`.
/// The receiving thread copies each chunk into one of a fixed ring of slots (bounded memory:
/// `slots × slotBytes`), the hashing thread digests them in order.
final class BackgroundSHA256 {
    static let slots = 16
    static let slotBytes = 256 << 10

    /// The ring and the digest state, touched by the producer and the hashing thread.
    // @unchecked Sendable: a slot is written only by the producer between `free.wait()` and
    // `filled.signal()`, and read only by the hasher between `filled.wait()` and `free.signal()`;
    // the semaphores order those accesses. `digest` is written by the hasher before its final
    // `done.signal()` and read by the producer after `done.wait()`.
    private final class Ring: @unchecked Sendable {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: BackgroundSHA256.slots * BackgroundSHA256.slotBytes, alignment: 64)
        var lengths = [Int](repeating: 0, count: BackgroundSHA256.slots)
        var digest: [UInt8] = []
        let filled = DispatchSemaphore(value: 0)
        // Created at 0 and signalled up: libdispatch traps when a semaphore is freed below the
        // value it was created with, which a ring still holding queued slots would be.
        let free = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        init() { for _ in 0..<BackgroundSHA256.slots { free.signal() } }
        deinit { memory.deallocate() }
        func slot(_ i: Int) -> UnsafeMutableRawPointer { memory + i * BackgroundSHA256.slotBytes }
    }

    private let ring = Ring()
    /// The hashing thread, joined by `finish` (it must not outlive the download it hashes).
    private let hasher: ThreadHandle
    private var head = 0
    private var finished = false
    private var fill = 0

    init() {
        let ring = ring
        hasher = startThread(name: "hh-sha256") {
            var hash = SHA256Stream()
            var tail = 0
            while true {
                ring.filled.wait()
                let n = ring.lengths[tail]
                if n < 0 { break }  // end marker
                hash.update(UnsafeRawBufferPointer(start: ring.slot(tail), count: n))
                tail = (tail + 1) % BackgroundSHA256.slots
                ring.free.signal()
            }
            ring.digest = hash.finish()
            ring.done.signal()
        }
    }

    deinit { if !finished { _ = finish() } }

    /// Queues a copy of `bytes`; blocks only when the hasher is a whole ring behind.
    func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            if fill == 0 { ring.free.wait() }
            let n = min(bytes.count - offset, BackgroundSHA256.slotBytes - fill)
            (ring.slot(head) + fill).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            fill += n
            offset += n
            // Full slots go at once; a partial one waits for more bytes (fewer hand-offs).
            if fill == BackgroundSHA256.slotBytes { publish() }
        }
    }

    /// The digest of everything queued; waits for the hasher and ends it.
    func finish() -> [UInt8] {
        precondition(!finished, "BackgroundSHA256.finish called twice")
        finished = true
        if fill > 0 { publish() }
        ring.free.wait()
        ring.lengths[head] = -1
        ring.filled.signal()
        ring.done.wait()
        hasher.join()
        return ring.digest
    }

    private func publish() {
        ring.lengths[head] = fill
        ring.filled.signal()
        head = (head + 1) % BackgroundSHA256.slots
        fill = 0
    }
}
