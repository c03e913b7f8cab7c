// swift-tools-version: 6.0
import PackageDescription

// One target per layer, each importing only those below it, so the compiler refuses an upward
// import (as FlyingSocks ← FlyingFox): Support ← Net ← HTTP ← Verify ← Spool ← Fetch ← Dispatch ← HookhostKit (App).
// Names carry a `Hook` prefix because `Dispatch` is already libdispatch's module.
let layers: [(name: String, c: [Target.Dependency])] = [
    ("HookSupport", ["CSys"]),
    ("HookNet", ["CSys", "COpenSSL"]),
    ("HookHTTP", ["CSys"]),
    ("HookVerify", ["CSys", "COpenSSL"]),
    ("HookSpool", ["CSys"]),
    ("HookFetch", ["CSys", "CCurl", "CCurlLoader", "COpenSSL"]),
    ("HookDispatch", ["CSys"]),
    ("HookhostKit", ["CSys", "COpenSSL"]),
]
let layerTargets: [Target] = layers.enumerated().map { i, layer in
    .target(name: layer.name, dependencies: layers[..<i].map { .target(name: $0.name) } + layer.c)
}

let package = Package(
    name: "hookhost",
    products: [
        .executable(name: "hookhost", targets: ["hookhost"]),
        .library(name: "HookEvent", targets: ["HookEvent"]),
        // Internal: drives bench/fetch.sh; not part of the product users run.
        .executable(name: "hookhost-bench-fetch", targets: ["hookhost-bench-fetch"]),
        // Internal: writes the spool bench/recovery.sh restarts on.
        .executable(name: "hookhost-bench-spool", targets: ["hookhost-bench-spool"]),
    ],
    targets: [
        // System libraries: thin module maps; C helpers Swift cannot call directly live in shim.h.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        // Headers only: libcurl is opened on first use (see Sources/CCurl/shim.h), not linked.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The loader's state, defined once (a header's static inline state is copied per caller).
        .target(name: "CCurlLoader", dependencies: ["CCurl"]),
        .systemLibrary(name: "CSys", path: "Sources/CSys"),
    ] + layerTargets + [
        .executableTarget(name: "hookhost", dependencies: layers.map { .target(name: $0.name) }),
        .executableTarget(name: "hookhost-bench-fetch", dependencies: layers.map { .target(name: $0.name) }),
        .executableTarget(name: "hookhost-bench-spool", dependencies: layers.map { .target(name: $0.name) }),
        .target(name: "HookEvent"),
        // HookEvent is here so the host's stdin writer and the functions' reader are tested against each other.
        .testTarget(name: "HookhostKitTests", dependencies: layers.map { .target(name: $0.name) } + ["HookEvent"]),
    ]
)
