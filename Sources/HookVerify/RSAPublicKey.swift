import COpenSSL
import Synchronization
import HookSupport
import HookNet
import HookHTTP

/// Why a JWK's `n`/`e` do not make a usable RS256 key.
public enum RSAKeyError: Error, Equatable, CustomStringConvertible {
    case tooSmall(bits: Int)
    case tooLarge(bits: Int)
    /// `e` below 65537, even, or wider than 64 bits.
    case weakExponent
    case rejectedByOpenSSL

    public var description: String {
        switch self {
        case .tooSmall(let b): return "RSA modulus of \(b) bits is below the minimum of \(RSAPublicKey.minBits)"
        case .tooLarge(let b): return "RSA modulus of \(b) bits is above the maximum of \(RSAPublicKey.maxBits)"
        case .weakExponent: return "RSA exponent must be odd and at least 65537"
        case .rejectedByOpenSSL: return "OpenSSL refused the RSA key"
        }
    }
}

/// An RSA public key for RS256 verification. The EVP_PKEY never leaves this type.
public final class RSAPublicKey: @unchecked Sendable {
    // Safe to share: the EVP_PKEY and the verify template are fully built in init and never
    // modified; the template is only copied (under `dupLock`), and each copy serves one call.
    private let pkey: OpaquePointer
    /// A verify context set up once (padding, digest): copying it per call skips the provider
    /// lookups of a fresh init, which made JWT deliveries a third slower than HMAC ones.
    private let template: OpaquePointer
    private let dupLock = Mutex<Void>(())
    /// Modulus size.
    public let bits: Int

    public static let minBits = 2048
    /// Larger keys only cost verification time; no signer uses them.
    public static let maxBits = 8192

    /// Builds the key from big-endian modulus and exponent (a JWK's decoded `n` and `e`).
    public init(modulus n: [UInt8], exponent e: [UInt8]) throws(RSAKeyError) {
        let n = Array(n.drop { $0 == 0 }), e = Array(e.drop { $0 == 0 })
        // e = 3 and other small exponents invite low-exponent attacks on sloppy verifiers;
        // every real signer uses 65537.
        guard !e.isEmpty, e.count <= 8, e.last! & 1 == 1, e.reduce(UInt64(0), { $0 << 8 | UInt64($1) }) >= 65537 else {
            throw .weakExponent
        }
        let nbits = n.isEmpty ? 0 : (n.count - 1) * 8 + (8 - n[0].leadingZeroBitCount)
        guard nbits >= RSAPublicKey.minBits else { throw .tooSmall(bits: nbits) }
        guard nbits <= RSAPublicKey.maxBits else { throw .tooLarge(bits: nbits) }
        guard let k = n.withUnsafeBufferPointer({ nb in e.withUnsafeBufferPointer { eb in
            hh_rsa_public_from_ne(nb.baseAddress, nb.count, eb.baseAddress, eb.count) } }) else { throw .rejectedByOpenSSL }
        guard let t = hh_rs256_template(k) else { EVP_PKEY_free(k); throw .rejectedByOpenSSL }
        pkey = k
        template = t
        bits = Int(hh_pkey_bits(k))
    }

    deinit {
        EVP_PKEY_CTX_free(template)
        EVP_PKEY_free(pkey)
    }

    /// Whether `signature` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `message` (RS256).
    public func verifyRS256(signature: [UInt8], message: [UInt8]) -> Bool {
        guard signature.count == (bits + 7) / 8 else { return false }
        return message.withUnsafeBufferPointer { m in signature.withUnsafeBufferPointer { s in
            hh_rs256_verify_ctx(dupLock.withLock { _ in hh_pkey_ctx_dup(template) }, m.baseAddress, m.count, s.baseAddress, s.count) == 1 } }
    }
}
