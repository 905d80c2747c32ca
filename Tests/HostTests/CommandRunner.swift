import Foundation

/// Runs the built `cil` binary (found next to the test bundle) as a user would.
struct CommandRunner {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `cil` executable built alongside the tests.
    static var executable: URL {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [bundleDir.appendingPathComponent("cil")]
        // swift-testing may run from inside the .xctest bundle directory.
        candidates.append(bundleDir.deletingLastPathComponent().appendingPathComponent("cil"))
        for url in candidates where FileManager.default.isExecutableFile(atPath: url.path) { return url }
        return candidates[0]
    }

    /// Runs `cil arguments...` with `environment` changes (nil removes a variable), in
    /// `directory` (default: this process's working directory).
    static func run(_ arguments: [String], environment: [String: String?] = [:], directory: URL? = nil) throws -> Output {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Parses stdout as one JSON object.
    static func json(_ output: Output) throws -> [String: Any] {
        let obj = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        guard let dict = obj as? [String: Any] else { throw CocoaError(.coderReadCorrupt) }
        return dict
    }
}
