import ArgumentParser
import CILSDK

/// The `cil` command line: subcommands for every job the workbench does.
struct CIL: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "cil",
        abstract: "A class-incremental learning workbench: baselines plain and on MANets, side by side.",
        version: CIL.versionText,
        subcommands: [CompareCommand.self, ReportCommand.self, RunCommand.self, ExportCommand.self, PluginsCommand.self, DataCommand.self, ProtocolCommand.self, BenchCommand.self, EnvCommand.self]
    )

    /// `cil --version`: the tool, SDK and BLAS core in use.
    static var versionText: String {
        "cil \(version) (SDK \(SDKInfo.version), \(SDKInfo.compilerVersion)); BLAS core: \(blasSummary)"
    }

    static var blasSummary: String {
        do {
            try BLAS.load()
            return "\(BLAS.coreName) (\(BLAS.coreSource))"
        } catch {
            return "unavailable: \(error)"
        }
    }
}
