import COpenSSL
import Glibc
import HookSupport
import HookNet
import HookHTTP

/// Why a private key could not be made or read.
public struct RSAPrivateKeyError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// An RSA private key for signing test deliveries (`hookhost keys new`, `hookhost send --jwt-key`).
/// The EVP_PKEY never leaves this type.
public final class RSAPrivateKey: @unchecked Sendable {
    // Safe to share: the key is never modified after init; OpenSSL 3 signs concurrently with one key.
    private let pkey: OpaquePointer

    private init(_ pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// A fresh key pair.
    public static func generate(bits: Int = 2048) throws(RSAPrivateKeyError) -> RSAPrivateKey {
        guard let k = hh_rsa_generate(UInt32(bits)) else { throw RSAPrivateKeyError(message: "OpenSSL could not generate an RSA-\(bits) key") }
        return RSAPrivateKey(k)
    }

    /// Reads a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    public init(pem: [UInt8]) throws(RSAPrivateKeyError) {
        guard let k = pem.withUnsafeBufferPointer({ b in
            b.withMemoryRebound(to: CChar.self) { hh_rsa_private_from_pem($0.baseAddress, $0.count) } }) else {
            throw RSAPrivateKeyError(message: "not a PEM RSA private key")
        }
        pkey = k
    }

    /// PKCS#8 PEM of the private key.
    public var privatePEM: String { pem(private: true) }
    /// SubjectPublicKeyInfo PEM of the public key.
    public var publicPEM: String { pem(private: false) }

    /// Big-endian modulus (JWK `n`).
    public var modulus: [UInt8] { component(0) }
    /// Big-endian public exponent (JWK `e`).
    public var exponent: [UInt8] { component(1) }

    /// The RS256 signature of `message`.
    public func signRS256(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: 2048)
        let n = message.withUnsafeBufferPointer { m in sig.withUnsafeMutableBufferPointer { s in
            hh_rs256_sign(pkey, m.baseAddress, m.count, s.baseAddress, s.count) } }
        precondition(n > 0, "OpenSSL RS256 signing failed")
        return Array(sig.prefix(n))
    }

    private func pem(private priv: Bool) -> String {
        var len = 0
        guard let p = hh_pkey_pem(pkey, priv ? 1 : 0, &len) else { fatalError("OpenSSL could not write a PEM key") }
        defer { free(p) }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    private func component(_ which: Int32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 2048)
        let n = out.withUnsafeMutableBufferPointer { hh_rsa_component(pkey, which, $0.baseAddress, $0.count) }
        return Array(out.prefix(n))
    }
}
