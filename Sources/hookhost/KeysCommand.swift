import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost keys new DIR`: an RSA-2048 key pair and its JWKS, for testing dynamic webhooks.
enum KeysCommand {
    static let help = """
    hookhost keys new DIR

    Writes DIR/private.pem (PKCS#8, mode 0600), DIR/public.pem and DIR/jwks.json (one RS256 key)
    and prints the key's kid (its RFC 7638 thumbprint). Serve DIR/jwks.json with
    HOOKHOST_JWKS_FILE (or over HTTP via HOOKHOST_JWKS_URL) and sign with
    hookhost send --jwt-key DIR/private.pem --kid KID. Existing files are not overwritten.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: [])
        try a.expectPositional(atMost: 2, "keys")
        guard a.positional.first == "new" else { throw UsageError("keys: expected \"keys new DIR\"") }
        guard a.positional.count == 2 else { throw UsageError("keys new needs a directory") }
        let dir = a.positional[1]
        guard FileSystem.makeDirectories(dir) else { throw RuntimeError("cannot create \(dir): \(String(cString: strerror(errno)))") }
        let key: RSAPrivateKey
        do { key = try RSAPrivateKey.generate(bits: 2048) } catch { throw RuntimeError(error.message) }
        let kid = JWTSigner.thumbprint(key)
        try write(dir + "/private.pem", key.privatePEM, mode: 0o600)
        try write(dir + "/public.pem", key.publicPEM, mode: 0o644)
        try write(dir + "/jwks.json", JWTSigner.jwks(key, keyID: kid) + "\n", mode: 0o644)
        print(kid)
        return 0
    }

    /// Creates `path` (never replacing an existing file: a key pair someone uses must not vanish).
    static func write(_ path: String, _ text: String, mode: mode_t) throws {
        let file: FD
        do { file = try FD(opening: path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: mode) } catch {
            throw RuntimeError("cannot create \(path): \(error)")
        }
        do {
            // Exactly `mode`, whatever the umask, on the descriptor (the path could be swapped).
            guard fchmod(file.raw, mode) == 0 else { throw Errno() }
            try file.writeAll(Array(text.utf8))
            guard fsync(file.raw) == 0 else { throw Errno() }
        } catch { throw RuntimeError("cannot write \(path): \(error)") }
    }
}
