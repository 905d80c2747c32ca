// swift-tools-version: 6.0
// An out-of-tree cil plugin: depends on the SDK package by path and builds ONE
// dynamic library, libCILPluginLowRank.so, that `cil --plugin-dir` loads.
import PackageDescription

let package = Package(
    name: "LowRankBranch",
    products: [
        .library(name: "CILPluginLowRank", type: .dynamic, targets: ["LowRankBranch"]),
    ],
    dependencies: [
        .package(path: "../../Sources/SDK"),
    ],
    targets: [
        .target(name: "LowRankBranch", dependencies: [.product(name: "CILSDK", package: "SDK")]),
    ],
    swiftLanguageModes: [.v6]
)
