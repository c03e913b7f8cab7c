import HookSupport
import HookNet
import HookHTTP
/// A compact JWT split and decoded, with every check that needs no key done (RFC 7515/7519).
/// Pure: parsing never looks anything up.
public struct CompactJWS: Sendable {
    /// `kid` from the header (safe characters only).
    public let keyID: String
    /// `typ` from the header, if present (always a string).
    public let type: String?
    /// The payload (claims) bytes exactly as encoded in the token.
    public let claimsBytes: [UInt8]
    public let claims: JSON
    /// `b64header.b64payload`, the bytes the signature covers.
    public let signingInput: [UInt8]
    public let signature: [UInt8]

    /// What identifies the token for the replay memory: the SHA-256 of what was signed and the
    /// signature. The encoding is canonical (strict base64url) and RS256 signatures are
    /// deterministic, so one token has one digest, and a captured token cannot be respelled.
    public var digest: TokenDigest { TokenDigest(Crypto.sha256(signingInput + [UInt8(ascii: ".")] + signature)) }

    /// Tokens are a few hundred bytes; far larger ones are refused before any decoding.
    public static let maxBytes = 8192

    /// Splits and checks a token: size, three segments, strict base64url, JSON object header and
    /// payload without repeated names, `alg` exactly `RS256`, no `crit`, a safe `kid`.
    public static func parse(_ token: String) throws(JWTError) -> CompactJWS {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .segmentCount(parts.count) }
        // The header first: a token with `alg` none or HS256 is named as such, whatever follows.
        guard let headerBytes = Base64URL.decode(bytes: parts[0]) else { throw .malformedBase64(segment: "header") }
        let header = try object(headerBytes, segment: "header", maxDepth: 8)
        guard let alg = header["alg"] else { throw .missingAlgorithm }
        // Exactly RS256: `none`, HS256 (an HMAC keyed with the public key), RS512, PS256 all fail.
        guard alg.stringValue == "RS256" else { throw .algorithmNotAllowed(alg.stringValue ?? "(not a string)") }
        // RFC 7515 §4.1.11: a receiver must refuse extensions it does not understand.
        guard header["crit"] == nil else { throw .criticalExtension }
        guard let kid = header["kid"]?.stringValue else { throw .missingKeyID }
        guard KeyID.isSafe(kid) else { throw .unsafeKeyID }
        var type: String?
        if let typ = header["typ"] {
            guard let t = typ.stringValue else { throw .typeNotAllowed("(not a string)") }
            type = t
        }
        guard let claimsBytes = Base64URL.decode(bytes: parts[1]) else { throw .malformedBase64(segment: "payload") }
        guard !parts[2].isEmpty, let signature = Base64URL.decode(bytes: parts[2]) else { throw .malformedBase64(segment: "signature") }
        let claims = try object(claimsBytes, segment: "payload", maxDepth: JSONParser.maxDepth)
        return CompactJWS(keyID: kid, type: type, claimsBytes: claimsBytes, claims: claims,
                          signingInput: Array(bytes[..<(parts[0].count + 1 + parts[1].count)]), signature: signature)
    }

    /// One JSON object whose member names are unique: with a repeated `alg` or `exp`, which copy
    /// counts would depend on the parser, so neither does.
    static func object(_ bytes: [UInt8], segment: String, maxDepth: Int) throws(JWTError) -> JSON {
        guard let v = try? JSONParser.parse(bytes, maxDepth: maxDepth), case .object(let members) = v else {
            throw .notJSONObject(segment: segment)
        }
        var names = Set<String>()
        for m in members where !names.insert(m.key).inserted { throw .duplicateMember(segment: segment, name: String(m.key.prefix(40))) }
        return v
    }
}
