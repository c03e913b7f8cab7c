import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// The secrets a fetch may send, turned into a header only at the moment a hop is sent to the
/// origin `FetchPolicy` chose. The GCS token is read from its file on each use, so a token
/// refreshed by a sidecar process takes effect without a restart.
public struct FetchCredentials: Sendable {
    public var apiKey: String?
    public var gcsTokenFile: String?

    public init(apiKey: String?, gcsTokenFile: String?) {
        self.apiKey = apiKey
        self.gcsTokenFile = gcsTokenFile
    }

    /// True when the secret for `credential` is configured at all.
    public func isConfigured(_ credential: Credential) -> Bool {
        switch credential {
        case .none: true
        case .apiKey: apiKey != nil
        case .gcsToken: gcsTokenFile != nil
        }
    }

    /// The header carrying `credential`, or nil when there is nothing to send. An API request
    /// without a key is still made (the 401/403 reason then says the key is missing); a GCS
    /// request without a token file is not.
    public func header(for credential: Credential) throws(FetchError) -> (String, String)? {
        switch credential {
        case .none:
            return nil
        case .apiKey:
            guard let key = apiKey?.trimmingSpaces, !key.isEmpty else { return nil }
            guard FetchCredentials.isHeaderSafe(key) else { throw .missingCredential(setting: "GEMINI_API_KEY (a usable value)") }
            return ("x-goog-api-key", key)
        case .gcsToken:
            guard let file = gcsTokenFile else { throw .missingCredential(setting: "HOOKHOST_GCS_TOKEN_FILE") }
            let raw: [UInt8]
            do { raw = try SmallFile.read(file, limit: 64 << 10) } catch { throw .local("HOOKHOST_GCS_TOKEN_FILE: \(error)") }
            let token = String(decoding: raw, as: UTF8.self).trimmingSpaces
            guard !token.isEmpty, FetchCredentials.isHeaderSafe(token) else {
                throw .local("HOOKHOST_GCS_TOKEN_FILE \(file) holds no usable token")
            }
            return ("Authorization", "Bearer " + token)
        }
    }

    /// No control characters: a line break in a value would inject headers.
    static func isHeaderSafe(_ s: String) -> Bool { s.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F } }
}
