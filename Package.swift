// swift-tools-version: 6.0
// The cil workbench: the `cil` host executable, the built-in plugins (one dynamic
// library each) and the tests. The SDK is a separate package (Sources/SDK) so that
// the host and every plugin share ONE libCILSDK.so (see README.md, "Layout").
import PackageDescription

/// The built-in plugins: target `X` lives in Sources/Plugins/X and builds
/// libCILPluginX.so next to the cil binary, where the host finds it.
let builtInPlugins = ["ICaRL", "LUCIR", "PODNet", "Free", "Fixed", "ScaleShift"]

let package = Package(
    name: "cil",
    products: [
        .executable(name: "cil", targets: ["Host"]),
    ] + builtInPlugins.map { .library(name: "CILPlugin\($0)", type: .dynamic, targets: [$0]) } + [
        // A test fixture: a Swift plugin whose registration throws. Its file name does
        // not start with libCILPlugin, so the host never loads it from the build
        // directory; the tests copy it into a directory of their own.
        .library(name: "CILTestFixtureThrowing", type: .dynamic, targets: ["ThrowingFixturePlugin"]),
        // A test fixture: a Swift baseline whose loss crashes the process (copied by
        // the tests into a plugin directory, like the one above).
        .library(name: "CILTestFixtureCrashing", type: .dynamic, targets: ["CrashingFixturePlugin"]),
    ],
    dependencies: [
        .package(path: "Sources/SDK"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .executableTarget(
            name: "Host",
            dependencies: [
                .product(name: "CILSDK", package: "SDK"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Host"
        ),
    ] + builtInPlugins.map {
        .target(name: $0, dependencies: [.product(name: "CILSDK", package: "SDK")], path: "Sources/Plugins/\($0)")
    } + [
        .target(
            name: "ThrowingFixturePlugin",
            dependencies: [.product(name: "CILSDK", package: "SDK")],
            path: "Tests/Fixtures/ThrowingFixturePlugin"
        ),
        .target(
            name: "CrashingFixturePlugin",
            dependencies: [.product(name: "CILSDK", package: "SDK")],
            path: "Tests/Fixtures/CrashingFixturePlugin"
        ),
        // The seeded random-mutation engine of the fuzz tests (DataTests, HostTests).
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        // The real CIFAR-100 of the tests that need it, found through CIL_DATA (DataTests, HostTests).
        .target(name: "RealCIFARSupport", dependencies: [.product(name: "CILSDK", package: "SDK")],
                path: "Tests/RealCIFARSupport"),
        .testTarget(
            name: "EngineTests",
            dependencies: [.product(name: "CILSDK", package: "SDK")],
            path: "Tests/EngineTests"
        ),
        .testTarget(
            name: "NetworkTests",
            dependencies: [.product(name: "CILSDK", package: "SDK")],
            path: "Tests/NetworkTests"
        ),
        .testTarget(
            name: "DataTests",
            dependencies: [.product(name: "CILSDK", package: "SDK"), "FuzzSupport", "RealCIFARSupport"],
            path: "Tests/DataTests"
        ),
        .testTarget(
            name: "HostTests",
            dependencies: ["Host", "FuzzSupport", "RealCIFARSupport", .product(name: "CILSDK", package: "SDK")],
            path: "Tests/HostTests",
            // C sources the tests compile at run time (plugin fixtures), not test code.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SDKTests",
            dependencies: [.product(name: "CILSDK", package: "SDK")],
            path: "Tests/SDKTests"
        ),
        .testTarget(
            name: "BaselineTests",
            dependencies: [.product(name: "CILSDK", package: "SDK")],
            path: "Tests/BaselineTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
