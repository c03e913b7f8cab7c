/// What this build is, for `hookhost version` and `hookhost_build_info`.
public enum BuildInfo {
    public static let version = "0.2.0"
    /// Set by the build when it knows (`HOOKHOST_COMMIT` in the environment at start, e.g. from a
    /// container label); SwiftPM has no build-time variables without plugins.
    public static var commit: String { FileSystem.env("HOOKHOST_COMMIT") ?? "unknown" }
}
