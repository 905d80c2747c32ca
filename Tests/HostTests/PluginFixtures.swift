import Foundation

/// Plugin libraries for the plugin tests: the real built ones (next to the `cil`
/// binary) and fixtures compiled by the tests from the C sources in Fixtures/ with
/// the system's C compiler, against the SDK's cil_plugin.h.
enum PluginFixtures {
    struct Failure: Error, CustomStringConvertible {
        let description: String
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

    /// The directory of cil_plugin.h.
    static var includeDirectory: URL { packageRoot.appendingPathComponent("Sources/SDK/Sources/CILPluginABI/include") }

    /// The C sources of the fixtures.
    static var sourceDirectory: URL { packageRoot.appendingPathComponent("Tests/HostTests/Fixtures") }

    /// The directory of the built `cil`, the built-in plugins and the Swift fixture,
    /// symbolic links resolved (as the host reports it).
    static var buildDirectory: URL {
        CommandRunner.executable.deletingLastPathComponent().resolvingSymlinksInPath()
    }

    /// A built library next to `cil`, e.g. "libCILPluginLUCIR.so"; fails if absent.
    static func builtLibrary(_ name: String) throws -> URL {
        let url = buildDirectory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw Failure(description: "\(url.path) is missing: build with `swift build -c release --build-tests`")
        }
        return url
    }

    /// Whether an executable called `name` is on the PATH.
    static func onPath(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
        }
    }

    /// The C compiler for the fixtures: the system's `cc`, or else the clang of the
    /// Swift toolchain (always installed with `swift`).
    static let cCompiler = onPath("cc") ? "cc" : "clang"

    /// Compiles Fixtures/`source` into the shared library `output` with the C compiler.
    static func compile(_ source: String, to output: URL, defines: [String] = []) throws {
        let arguments = [cCompiler, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                         "-I", includeDirectory.path]
            + defines.map { "-D\($0)" }
            + ["-o", output.path, sourceDirectory.appendingPathComponent(source).path]
        let result = try run("/usr/bin/env", arguments)
        guard result.status == 0 else {
            throw Failure(description: "\(cCompiler) \(source) failed (status \(result.status)):\n\(result.output)")
        }
    }

    /// Runs a program to completion; stdout and stderr together.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A fresh directory under the system's temporary directory; `remove()` deletes it.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("cil-plugin-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Wraps an existing directory (removed with its parent).
    init(existing url: URL) { self.url = url }

    /// The path of `name` inside the directory, as the host prints it.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// A new subdirectory.
    func subdirectory(_ name: String) throws -> URL {
        let sub = url.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        return sub
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
