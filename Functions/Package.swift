// swift-tools-version: 6.0
// Example functions for hookhost. A package of its own so authors can copy it as a starting point;
// it uses only the root package's `HookEvent` library. Build and install with ./build.sh.
import PackageDescription

let hookEvent: Target.Dependency = .product(name: "HookEvent", package: "hookhost")

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
    ]
)
