import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The active HMAC secrets: from the environment/flags plus an optional file that is re-read
/// when it changes (polled) or on SIGHUP, so rotation needs no restart.
public final class SecretsStore: Sendable {
    private let fixed: [WebhookSecret]
    private let file: String?
    private let tolerance: Double
    private let clock: any WallClock
    private let logger: Logger
    /// The verifier and the SHA-256 of the file content it was built from. Changes are detected
    /// by content, not by modification time and size: a same-size rewrite within the file
    /// system's timestamp granularity, or a symlink swapped to another file with the same times
    /// (Kubernetes secret volumes), must not be missed.
    private let state: Mutex<(verifier: WebhookVerifier, digest: [UInt8])>

    /// Loads the file once; a broken file at start-up is a configuration error.
    public init(fixed: [WebhookSecret], file: String?, tolerance: Double, clock: any WallClock = SystemClock(), logger: Logger) throws(ConfigError) {
        self.fixed = fixed
        self.file = file
        self.tolerance = tolerance
        self.clock = clock
        self.logger = logger
        var fromFile: [WebhookSecret] = []
        var digest: [UInt8] = []
        if let file {
            let bytes: [UInt8]
            do { bytes = try SmallFile.read(file, limit: SecretsStore.maxFileBytes) } catch {
                throw ConfigError(setting: "HOOKHOST_SECRETS_FILE", message: error.description)
            }
            fromFile = try SecretsStore.parse(String(decoding: bytes, as: UTF8.self), setting: "HOOKHOST_SECRETS_FILE")
            digest = Crypto.sha256(bytes)
        }
        state = Mutex((WebhookVerifier(secrets: fixed + fromFile, tolerance: tolerance, clock: clock), digest))
    }

    /// A secrets file holds a few lines; a larger one is refused rather than read in part.
    static let maxFileBytes = 1 << 20

    /// The verifier with the current secrets.
    public var verifier: WebhookVerifier { state.withLock { $0.verifier } }

    public var count: Int { state.withLock { $0.verifier.secrets.count } }

    /// Secrets not past their expiry: what can still verify a delivery (readiness counts these).
    public var usableCount: Int {
        let now = clock.now()
        return state.withLock { $0.verifier.secrets.filter { !$0.isExpired(at: now) }.count }
    }

    /// The current secrets' fingerprints (never the secrets): for `hookhost status`.
    public var fingerprints: [String] { state.withLock { $0.verifier.secrets.map(\.fingerprint) } }

    /// The fingerprints for log lines: a secret with an expiry shows it (`ab12cd34 (until 2026-12-08T17:40:00Z)`).
    public var shownFingerprints: [String] {
        let now = clock.now()
        return state.withLock { $0.verifier.secrets.map { $0.shown(at: now) } }
    }

    /// When secrets kept through a rotation stop verifying, by fingerprint (seconds since the epoch).
    public var expiries: [String: Double] {
        state.withLock { v in
            var out: [String: Double] = [:]
            for s in v.verifier.secrets { if let e = s.expiresAt { out[s.fingerprint] = e } }
            return out
        }
    }

    /// Re-reads the file if it changed (or always, when `force`). A bad file keeps the old secrets.
    public func reload(force: Bool = false) {
        guard let file else { return }
        let bytes: [UInt8]
        do { bytes = try SmallFile.read(file, limit: SecretsStore.maxFileBytes) } catch {
            logger.error("secrets file unreadable; keeping the previous secrets", ["file": .string(file), "error": .string(error.description)])
            return
        }
        // A few hundred bytes every poll: reading is cheaper than being wrong about a change.
        let digest = Crypto.sha256(bytes)
        if state.withLock({ $0.digest == digest }) && !force { return }
        do {
            let secrets = try WebhookSecret.parseList(String(decoding: bytes, as: UTF8.self))
            // A file that had secrets and now has none was caught mid-rewrite, or is a pipe that
            // was read at start: taking that would refuse every delivery until a restart.
            let before = state.withLock { $0.verifier.secrets.count } - fixed.count
            if secrets.isEmpty && before > 0 {
                logger.error("secrets file has no secrets now; keeping the previous ones (to remove them all, restart without it)",
                             ["file": .string(file), "kept": .int(before)])
                state.withLock { $0.digest = digest }  // said once, not on every poll
                return
            }
            let v = WebhookVerifier(secrets: fixed + secrets, tolerance: tolerance, clock: clock)
            state.withLock { $0 = (v, digest) }
            logger.info("secrets reloaded", ["count": .int(v.secrets.count), "fingerprints": .string(v.secrets.map { $0.shown(at: clock.now()) }.joined(separator: ","))])
        } catch {
            logger.error("secrets file invalid; keeping the previous secrets", ["file": .string(file), "error": .string(error.description)])
            state.withLock { $0.digest = digest }  // said once, not on every poll
        }
    }

    /// Parses a list of secrets given by `setting`, naming the setting when one is bad: Verify
    /// knows secrets, only App knows where they were configured.
    static func parse(_ text: String, setting: String) throws(ConfigError) -> [WebhookSecret] {
        do { return try WebhookSecret.parseList(text) } catch { throw ConfigError(setting: setting, message: error.description) }
    }
}
