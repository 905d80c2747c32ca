import ArgumentParser

/// `cil data`: get and verify datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Download (fetch) and verify (check) datasets.",
        subcommands: [DataFetchCommand.self, DataCheckCommand.self]
    )
}
