import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify

extension Spool {
    // MARK: - Inspection and operator actions

    public var queueDepth: Int { board.unfinished }
    public var deadCount: Int { board.dead }
    public var isWritable: Bool { log.isWritable }
    public func info(_ id: String) -> DeliveryInfo? { board.info(id) }
    public func list(state: DeliveryState?, type: String?) -> [DeliveryInfo] { board.list(state: state, type: type) }
    public func unfinishedSummary() -> UnfinishedSummary { board.unfinishedSummary() }
    public func chain(root: String) -> [DeliveryInfo] { board.chain(root: root) }
    public func page(_ filter: DeliveryFilter, before: DeliveryCursor?, limit: Int) -> DeliveryPage {
        board.page(filter, before: before, limit: limit)
    }
    public func newestByFunction(limit: Int) -> [String: [DeliveryInfo]] { board.newestByFunction(limit: limit) }

    public func show(_ id: String) -> (info: DeliveryInfo, body: [UInt8], jwt: JWTIdentity?, last: StateChange?)? {
        guard let d = info(id) else { return nil }
        let (body, jwt) = (try? readBody(id)) ?? ([], nil)
        let last = (try? log.read { board.info(id)?.lastState }).flatMap { Spool.stateChange(in: $0, for: id) }
        return (d, body, jwt, last)
    }

    /// The state change a record frame holds, if it is one and belongs to `id`.
    static func stateChange(in frame: [UInt8], for id: String) -> StateChange? {
        guard let (_, rec) = SpoolScanner.frame(at: 0, in: frame, nested: true), case .state(let s) = rec, s.id == id else { return nil }
        return s
    }

    public func attempts(_ id: String) -> [StateChange] {
        guard let frames = try? log.readAll({ board.info(id)?.attemptRefs ?? [] }) else { return [] }
        return frames.compactMap { Spool.stateChange(in: $0, for: id) }
    }


    /// The body and JWT identity from the delivery's record (kept on disk, not in the index).
    func readBody(_ id: String) throws(SpoolError) -> ([UInt8], JWTIdentity?) {
        let (body, jwt, _) = try readRecord(id)
        return (body, jwt)
    }

    /// The delivery's record: body, JWT identity and head (read from the body for a record
    /// written before heads existed: the one time such a body is parsed after admission).
    func readRecord(_ id: String) throws(SpoolError) -> ([UInt8], JWTIdentity?, DeliveryHead) {
        let frame = try log.read { board.info(id)?.body }
        guard let (_, rec) = SpoolScanner.frame(at: 0, in: frame, nested: true), case .delivery(let rid, _, _, _, let body, let jwt, let head) = rec, rid == id else {
            throw SpoolError("decode", path: log.path, code: EIO)
        }
        return (body, jwt, head ?? DeliveryHead.derive(body: body)?.head ?? DeliveryHead())
    }

    /// The head of a delivery that has none in memory (its compact form dropped it), from disk.
    func headFromDisk(_ id: String) -> DeliveryHead? {
        guard board.info(id)?.head == nil else { return nil }
        return try? readRecord(id).2
    }
}
