import HookSupport
import HookFetch

extension HostConfig {
    /// The API client for these settings (`HOOKHOST_API_BASE`, `HOOKHOST_API_VERSION`,
    /// `GEMINI_API_KEY`); throws `.missingKey` when no key is configured.
    public func geminiAPI() throws(GeminiAPIError) -> GeminiAPI {
        try GeminiAPI(base: apiBase, version: apiVersion, apiKey: geminiAPIKey)
    }
}
