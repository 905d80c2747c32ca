import CILSDK
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The C plugin fixture (Tests/HostTests/Fixtures/c_loss_plugin.c), compiled at run
/// time with the system's C compiler against the SDK's cil_plugin.h and loaded with dlopen,
/// as the host loads a C plugin.
enum CFixture {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A loaded fixture library.
    struct Library: @unchecked Sendable {
        let handle: UnsafeMutableRawPointer
        let path: String

        /// The address of an exported symbol.
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(handle, name) else { throw Failure(description: "\(path) does not export \(name)") }
            return address
        }

        /// The plugin the library describes, read as the host reads it.
        func plugin() throws -> CPlugin {
            let entry = unsafeBitCast(try symbol("cil_c_plugin_entry"), to: cil_c_plugin_entry_fn.self)
            guard let descriptor = entry(SDKInfo.abiVersion) else {
                throw Failure(description: "cil_c_plugin_entry returned NULL")
            }
            return try CPlugin(descriptor: descriptor, handle: handle, path: path)
        }
    }

    /// The package root: the first directory above this file holding Package.swift.
    static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        preconditionFailure("no Package.swift above \(#filePath)")
    }()

    /// The C compiler: the system's `cc`, or else the clang of the Swift toolchain.
    static let cCompiler: String = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let hasCC = path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/cc") }
        return hasCC ? "cc" : "clang"
    }()

    /// The default fixture ("demo-loss"), compiled and loaded once per test process.
    static let demo: Result<Library, any Error> = Result { try load() }

    /// Compiles c_loss_plugin.c with `defines` (see the variants in its header) and
    /// loads it. The library stays loaded for the rest of the process (as the host
    /// never unloads plugins); its file is deleted at once.
    static func load(defines: [String] = []) throws -> Library {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("cil-sdk-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("libCILPluginDemo.so").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [cCompiler, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                             "-I", packageRoot.appendingPathComponent("Sources/SDK/Sources/CILPluginABI/include").path]
            + defines.map { "-D\($0)" }
            + ["-o", output, packageRoot.appendingPathComponent("Tests/HostTests/Fixtures/c_loss_plugin.c").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(cCompiler) c_loss_plugin.c \(defines) failed:\n\(log)")
        }
        guard let handle = dlopen(output, RTLD_NOW | RTLD_LOCAL) else {
            throw Failure(description: "dlopen \(output): \(dlerror().map { String(cString: $0) } ?? "?")")
        }
        return Library(handle: handle, path: output)
    }
}
