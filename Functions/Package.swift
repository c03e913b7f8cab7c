// swift-tools-version: 6.0
// Example functions for hookhost. A package of its own so authors can copy it as a starting point;
// it uses only the root package's `HookEvent` library. Build and install with ./build.sh.
import PackageDescription

let hookEvent: Target.Dependency = .product(name: "HookEvent", package: "hookhost")
// The Gemini calls (and the done-records) the pipeline examples share: a library target here, not
// part of HookEvent, so a function that calls no API does not link URLSession.
let geminiClient: Target.Dependency = "GeminiClient"

let package = Package(
    name: "hookhost-functions",
    dependencies: [
        .package(name: "hookhost", path: ".."),
    ],
    targets: [
        // Target names are the executables' names; build.sh installs each under its event type.
        .executableTarget(name: "batch-succeeded", dependencies: [hookEvent]),
        .executableTarget(name: "video-generated", dependencies: [hookEvent]),
        .executableTarget(name: "interaction", dependencies: [hookEvent]),
        .target(name: "GeminiClient", dependencies: [hookEvent]),
        .executableTarget(name: "batch-retry", dependencies: [hookEvent, geminiClient]),
        .executableTarget(name: "interaction-requires-action", dependencies: [hookEvent, geminiClient]),
    ]
)
