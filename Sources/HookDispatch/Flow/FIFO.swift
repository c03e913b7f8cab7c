import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// First in, first out, amortised O(1) at both ends (a key's waiting deliveries, the keys'
/// turn order). Pure.
struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    var count: Int { items.count - head }

    mutating func push(_ e: Element) { items.append(e) }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        let e = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: items.count <= 1024)
            head = 0
        } else if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return e
    }

    /// Everything left, oldest first, and empties the queue.
    mutating func drain() -> [Element] {
        defer { items = []; head = 0 }
        return Array(items[head...])
    }
}

/// Min-heap of (time, payload): the flow table's timers. Pure.
struct WakeHeap<Payload> {
    private var heap: [(at: Double, payload: Payload)] = []

    var count: Int { heap.count }
    var next: Double? { heap.first?.at }

    mutating func push(_ at: Double, _ payload: Payload) {
        heap.append((at, payload))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard heap[i].at < heap[p].at else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(_ now: Double) -> (at: Double, payload: Payload)? {
        guard let first = heap.first, first.at <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, heap[l].at < heap[m].at { m = l }
                if r < heap.count, heap[r].at < heap[m].at { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
