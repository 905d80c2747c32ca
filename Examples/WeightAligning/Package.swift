// swift-tools-version: 6.0
// An out-of-tree cil plugin: depends on the SDK package by path and builds ONE
// dynamic library, libCILPluginWA.so, that `cil --plugin-dir` loads.
import PackageDescription

let package = Package(
    name: "WeightAligning",
    products: [
        .library(name: "CILPluginWA", type: .dynamic, targets: ["WeightAligning"]),
    ],
    dependencies: [
        .package(path: "../../Sources/SDK"),
    ],
    targets: [
        .target(name: "WeightAligning", dependencies: [.product(name: "CILSDK", package: "SDK")]),
    ],
    swiftLanguageModes: [.v6]
)
