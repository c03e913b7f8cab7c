import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The hand-over's parts: the endpoint peers hand deliveries to, and this host's drain.
extension Host {
    func makeHandoverReceiver(spool: Spool, metrics: Metrics) -> HandoverReceiver {
        HandoverReceiver(secret: config.peerSecret, tolerance: config.tolerance, clock: spool.clock, maxBodyBytes: config.http.limits.maxBodyBytes,
                         metrics: metrics, logger: logger) { envelope, done in
            spool.adopt(envelope, completion: done)
        }
    }

    func makeDrainer(spool: Spool, dispatcher: Dispatcher, metrics: Metrics, listen: String,
                     startDraining: @escaping @Sendable () -> Void) -> Drainer {
        Drainer(spool: spool, dispatcher: dispatcher, secret: config.peerSecret,
                origin: HandoverEnvelope.Origin(name: Host.replicaName(), address: listen), defaultWait: config.shutdownGrace,
                logger: logger, metrics: metrics, startDraining: startDraining)
    }

    /// SIGTERM with `HOOKHOST_HANDOVER`: hands over within the grace; returns the grace left for
    /// what still runs (at least a second, so a function still running gets its SIGTERM first).
    func drainWithHandover(_ running: Running) -> Double {
        guard let target = config.handover else { return config.shutdownGrace }
        let began = monotonicNow()
        logger.info("SIGTERM: draining with hand-over", ["handover": .string(URLRedaction.withoutQuery(target)), "grace_s": .double(config.shutdownGrace)])
        running.drainer.run(handover: target, wait: config.shutdownGrace)
        return max(1, config.shutdownGrace - (monotonicNow() - began))
    }

    /// This replica's name for the history note on the peer: the host name (a pod's name).
    static func replicaName() -> String {
        var buf = [UInt8](repeating: 0, count: 256)
        guard buf.withUnsafeMutableBufferPointer({ b in b.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, 255) } }) == 0
        else { return "unknown" }
        let name = String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name
    }
}
