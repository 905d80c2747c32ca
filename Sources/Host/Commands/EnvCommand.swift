import ArgumentParser
import CILSDK
import Foundation

/// `cil env`: what the engine runs on (BLAS library and kernel family, threads).
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Show the BLAS library, its kernel family (core) and the thread settings."
    )

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        try BLAS.load()
        let info: [(String, String)] = [
            ("cil_version", CIL.version),
            ("sdk_version", SDKInfo.version),
            ("blas_library", BLAS.libraryPath),
            ("blas_core", BLAS.coreName),
            ("blas_core_source", BLAS.coreSource),
            ("blas_detected_coretype", BLAS.detectedCoreType.isEmpty ? "none" : BLAS.detectedCoreType),
            ("blas_config", BLAS.configuration),
            ("blas_threads", String(BLAS.threads)),
            ("engine_threads", String(Parallel.threads)),
            ("cpus", String(ProcessInfo.processInfo.activeProcessorCount)),
        ]
        if json {
            let object = Dictionary(uniqueKeysWithValues: info)
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (k, v) in info { print("\(k.padding(toLength: 24, withPad: " ", startingAt: 0)) \(v)") }
        }
    }
}
