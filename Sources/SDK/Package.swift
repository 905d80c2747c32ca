// swift-tools-version: 6.0
// The cil SDK: the training engine and the CIL contracts, shipped as ONE shared
// library (libCILSDK.so). It is its own package so that the host and every plugin
// link the same copy (see docs/ARCHITECTURE.md, "Modules", and README.md, at the
// repository root).
import PackageDescription

let package = Package(
    name: "CILSDK",
    products: [
        .library(name: "CILSDK", type: .dynamic, targets: ["CILSDK"]),
    ],
    targets: [
        // OpenBLAS is loaded at run time (dlopen) by this C shim, after it has chosen
        // the right kernel family for the CPU: see Sources/CBLAS/include/cil_blas.h.
        .target(name: "CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // libffi, for calling plugin functions known only from a manifest.
        .systemLibrary(name: "CLibFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
        // Hand-vectorised kernels (direct 3x3 convolution), chosen for the CPU at run time.
        .target(name: "CKernels"),
        .target(
            name: "CILEngine",
            dependencies: ["CBLAS", "CKernels"]
        ),
        // The plugin ABI header (cil_plugin.h), for Swift and C plugins alike.
        .target(name: "CILPluginABI"),
        // JPEG / PNG decoding for image-folder datasets (libjpeg-turbo, libpng), with
        // libjpeg's longjmp error handling kept in the small C codec target.
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "CImageCodec", dependencies: ["CJPEG", "CPNG"]),
        .target(name: "CILSDK", dependencies: ["CILEngine", "CILPluginABI", "CLibFFI", "CImageCodec"]),
    ],
    swiftLanguageModes: [.v6]
)
