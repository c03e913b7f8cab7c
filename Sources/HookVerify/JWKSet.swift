import HookSupport
import HookNet
import HookHTTP
/// Why a JWKS document was not usable as a whole (the previous keys stay in use).
public struct JWKSError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The RS256 keys of a JWKS document (RFC 7517), by `kid`. Pure.
public struct JWKSet: Sendable {
    public let keys: [String: RSAPublicKey]
    /// One line per key that was left out, and why (for the log; no key material).
    public let skipped: [String]

    /// The largest JWKS accepted.
    public static let maxBytes = 1 << 20

    /// Parses `{"keys":[…]}`. Keys that are not RSA signing keys for RS256, have no safe `kid`,
    /// or fail the key checks are skipped; a document with no usable key at all is an error.
    public static func parse(_ bytes: [UInt8]) throws(JWKSError) -> JWKSet {
        guard bytes.count <= maxBytes else { throw JWKSError(message: "JWKS larger than \(maxBytes) bytes") }
        let doc: JSON
        do { doc = try JSONParser.parse(bytes, maxDepth: 8) } catch { throw JWKSError(message: "JWKS is not JSON: \(error)") }
        guard case .array(let entries)? = doc["keys"] else { throw JWKSError(message: "JWKS has no \"keys\" array") }
        var keys: [String: RSAPublicKey] = [:]
        var skipped: [String] = []
        for (i, entry) in entries.enumerated() {
            let kid = entry["kid"]?.stringValue
            let label = kid.map { KeyID.isSafe($0) ? "kid \($0)" : "key #\(i)" } ?? "key #\(i)"
            do throws(JWKSError) {
                guard let kid else { throw JWKSError(message: "no kid") }
                guard KeyID.isSafe(kid) else { throw JWKSError(message: "kid has unsafe characters") }
                guard keys[kid] == nil else { throw JWKSError(message: "duplicate kid") }
                keys[kid] = try rsaKey(entry)
            } catch {
                skipped.append("\(label): \(error.message)")
            }
        }
        guard !keys.isEmpty else {
            throw JWKSError(message: "JWKS has no usable RS256 key" + (skipped.isEmpty ? "" : " (" + skipped.joined(separator: "; ") + ")"))
        }
        return JWKSet(keys: keys, skipped: skipped)
    }

    static func rsaKey(_ jwk: JSON) throws(JWKSError) -> RSAPublicKey {
        guard jwk["kty"]?.stringValue == "RSA" else { throw JWKSError(message: "kty is not RSA") }
        if let use = jwk["use"], use.stringValue != "sig" { throw JWKSError(message: "use is not sig") }
        if let alg = jwk["alg"], alg.stringValue != "RS256" { throw JWKSError(message: "alg is not RS256") }
        guard let n = jwk["n"]?.stringValue.flatMap({ Base64URL.decode($0) }),
              let e = jwk["e"]?.stringValue.flatMap({ Base64URL.decode($0) }) else {
            throw JWKSError(message: "n or e is not base64url")
        }
        do { return try RSAPublicKey(modulus: n, exponent: e) } catch { throw JWKSError(message: error.description) }
    }
}
