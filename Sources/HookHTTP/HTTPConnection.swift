import HookSupport
import HookNet
/// The HTTP/1.1 side of one connection as a pure state machine: events in (bytes, end of input,
/// an answer, "written", a clock tick), actions out (send bytes, dispatch a request, close …).
/// It does no I/O and reads no clock, so every behaviour is testable from literals; the reactor
/// executes the actions over a `Transport`.
struct HTTPConnection {
    /// Timeouts and limits the machine enforces.
    struct Settings: Sendable {
        var parser: HTTPParser
        var readTimeout: Double
        var idleTimeout: Double
        /// How long a refused client may still send (discarded) before the close.
        var lingerSeconds: Double = 2
        /// Bytes discarded while lingering before giving up on a polite close.
        var lingerLimit = 4 << 20
    }

    /// What the connection is doing. Replaces a bag of booleans: each case carries only what is
    /// meaningful in it.
    enum Phase: Equatable {
        /// Receiving the next request; `startedAt` is when its first byte came (nil: none yet).
        case reading(startedAt: Double?, continueSent: Bool)
        /// A request was dispatched; its answer has not come yet.
        case awaiting(keepAlive: Bool, head: Bool)
        /// The answer was handed to the transport and is being written.
        case writing(then: AfterWrite)
        /// Our side is shut; what the client still sends is read and dropped until `until`.
        case lingering(until: Double, discarded: Int)
        case closed
    }

    /// What follows a fully written answer.
    enum AfterWrite: Equatable {
        /// Keep-alive: parse the next (maybe already pipelined) request.
        case next
        /// Shut our side and linger so the client reads the answer instead of a reset.
        case linger
        /// Close at once (the client already stopped sending).
        case close
    }

    /// Inputs to the machine.
    enum Event {
        /// Request bytes arrived.
        case bytes(ArraySlice<UInt8>)
        /// A batch of reads ended (`endOfInput`: the client half-closed): time to parse.
        case readsDone(endOfInput: Bool)
        /// The responder's answer to the dispatched request.
        case response(HTTPResponse)
        /// Part of what was sent was written; more is pending.
        case wroteSome
        /// Everything sent so far is written.
        case flushed
        /// The periodic sweep.
        case tick
        /// The loop holds too many request bytes and this connection holds the most.
        case overBudget
    }

    /// Outputs, executed in order by the reactor.
    enum Action {
        case send([UInt8])
        /// Hand the request to the responder (always the last action of a batch).
        case dispatch(HTTPRequest)
        /// A request was refused before it was complete (log it, tell the responder).
        case refused(HTTPParseError)
        /// A request took longer than the read timeout (log it).
        case timedOut(receivedBytes: Int)
        case shutdownWrite
        case close
    }

    let settings: Settings
    private(set) var phase: Phase = .reading(startedAt: nil, continueSent: false)
    /// The client half-closed (EOF): nothing more will arrive.
    private(set) var inputEnded = false
    private(set) var buffer: [UInt8] = []
    private(set) var lastActivity: Double
    private let acceptedAt: Double
    private var served = 0

    init(settings: Settings, now: Double) {
        self.settings = settings
        self.lastActivity = now
        self.acceptedAt = now
    }

    /// Bytes larger than any acceptable request: with this much buffered while an answer is
    /// pending, input stops being read until the answer is out.
    var bufferCap: Int { settings.parser.limits.maxHeaderBytes + settings.parser.limits.largestBody + 8 }

    /// Whether the reactor should read from the transport now.
    var wantsInput: Bool {
        if inputEnded { return false }
        switch phase {
        case .reading, .lingering: return true
        case .awaiting: return buffer.count <= bufferCap
        case .writing, .closed: return false
        }
    }

    /// Between requests with nothing buffered or owed: closing it loses nothing.
    var isIdle: Bool {
        if case .reading(nil, _) = phase { return buffer.isEmpty && !inputEnded }
        return false
    }

    /// An answer is owed (dispatched or being written); a stopping loop waits for these.
    var owesAnswer: Bool {
        switch phase {
        case .awaiting, .writing: return true
        default: return false
        }
    }

    var isLingering: Bool { if case .lingering = phase { return true } else { return false } }
    var isClosed: Bool { phase == .closed }

    mutating func on(_ event: Event, at now: Double) -> [Action] {
        if phase == .closed { return [] }
        switch event {
        case .bytes(let b): return received(b, now)
        case .readsDone(let eof): return readsDone(eof, now)
        case .response(let r): return respond(r, now)
        case .wroteSome: lastActivity = now; return []
        case .flushed: return flushed(now)
        case .tick: return tick(now)
        case .overBudget: return overBudget(now)
        }
    }

    private mutating func received(_ bytes: ArraySlice<UInt8>, _ now: Double) -> [Action] {
        lastActivity = now
        if case .lingering(let until, let discarded) = phase {
            let total = discarded + bytes.count
            if total > settings.lingerLimit { return close() }
            phase = .lingering(until: until, discarded: total)
            return []
        }
        if case .reading(nil, let sent) = phase { phase = .reading(startedAt: now, continueSent: sent) }
        buffer.append(contentsOf: bytes)
        return []
    }

    private mutating func readsDone(_ eof: Bool, _ now: Double) -> [Action] {
        if case .lingering = phase { return eof ? close() : [] }
        if eof { inputEnded = true }
        guard case .reading = phase else { return [] }
        return parseNext(now)
    }

    /// Parses the buffer and dispatches one complete request (the next one waits for its answer:
    /// pipelined requests are answered in order).
    private mutating func parseNext(_ now: Double) -> [Action] {
        guard case .reading(let startedAt, let continueSent) = phase else { return [] }
        guard !buffer.isEmpty else {
            // After a half-close, nothing more can come: no request is owed.
            return inputEnded ? close() : []
        }
        let result: HTTPParseResult
        do {
            result = try settings.parser.parse(buffer)
        } catch {
            buffer = []
            phase = .awaiting(keepAlive: false, head: false)
            return [.refused(error)] + respond(.error(error.status, error.message, headers: HTTPResponse.unrouted, close: true), now)
        }
        guard case .complete(let request, let consumed) = result else {
            // What is left after a half-close can never become a complete request.
            if inputEnded { return close() }
            if !continueSent && settings.parser.expectsContinue(buffer) {
                // Clients like curl otherwise wait a second before sending the body.
                phase = .reading(startedAt: startedAt, continueSent: true)
                return [.send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))]
            }
            return []
        }
        // An idle connection must not keep the capacity of its largest request: drop the buffer,
        // or copy what was pipelined after this request into a right-sized one.
        buffer = consumed == buffer.count ? [] : Array(buffer[consumed...])
        served += 1
        phase = .awaiting(keepAlive: request.keepAlive, head: request.method == "HEAD")
        return [.dispatch(request)]
    }

    private mutating func respond(_ response: HTTPResponse, _ now: Double) -> [Action] {
        guard case .awaiting(let keepAlive, let head) = phase else { return [] }
        // After a half-close the connection stays open only for requests already buffered.
        let keep = keepAlive && !response.close && !(inputEnded && buffer.isEmpty)
        phase = .writing(then: keep ? .next : (inputEnded ? .close : .linger))
        return [.send(response.encode(keepAlive: keep, head: head))]
    }

    private mutating func flushed(_ now: Double) -> [Action] {
        lastActivity = now
        guard case .writing(let then) = phase else { return [] }  // e.g. a 100 Continue went out
        switch then {
        case .close:
            return close()
        case .linger where inputEnded:
            return close()  // the client stopped sending: nothing to drain
        case .linger:
            // Stop writing, read and discard briefly so the client sees the answer instead of a
            // reset caused by unread request bytes.
            buffer = []
            phase = .lingering(until: now + settings.lingerSeconds, discarded: 0)
            return [.shutdownWrite]
        case .next:
            phase = .reading(startedAt: buffer.isEmpty ? nil : now, continueSent: false)
            return parseNext(now)
        }
    }

    private mutating func tick(_ now: Double) -> [Action] {
        switch phase {
        case .lingering(let until, _):
            return now > until ? close() : []
        case .writing:
            // The client does not read its answer.
            return now - lastActivity > settings.readTimeout ? close() : []
        case .awaiting:
            return []  // waiting for our own answer (spool commit): not the client's fault
        case .reading(let startedAt?, _):
            guard now - startedAt > settings.readTimeout else { return [] }
            let received = buffer.count
            buffer = []
            phase = .awaiting(keepAlive: false, head: false)
            return [.timedOut(receivedBytes: received)]
                + respond(.error(408, "request not received within \(Int(settings.readTimeout)) s", headers: HTTPResponse.unrouted, close: true), now)
        case .reading(nil, _):
            // A new connection must start its first request within the read timeout, not the
            // (much longer) keep-alive idle timeout.
            if served == 0 { return now - acceptedAt > settings.readTimeout ? close() : [] }
            return now - lastActivity > settings.idleTimeout ? close() : []
        case .closed:
            return []
        }
    }

    private mutating func overBudget(_ now: Double) -> [Action] {
        guard !buffer.isEmpty else { return [] }
        buffer = []
        switch phase {
        case .awaiting(_, let head):
            // Its request is being answered; what it pipelined after it is dropped with it.
            phase = .awaiting(keepAlive: false, head: head)
            return []
        case .reading:
            phase = .awaiting(keepAlive: false, head: false)
            return respond(.error(503, "too many request bytes in flight; retry", headers: [("Retry-After", "5")], close: true), now)
        default:
            return []
        }
    }

    private mutating func close() -> [Action] {
        buffer = []
        phase = .closed
        return [.close]
    }
}
