import CILSDK
import Foundation

/// cil's readers of files it did not write in this process (checkpoints, experiment
/// files), as public entry points for the fuzz tests: a release build cannot be
/// `@testable import`ed, and the fuzz tests must call the same code `cil run` and
/// `cil compare` run. Each either returns a summary of a valid input or throws the
/// error the user would see; `isUserFacing` tells those errors from anything else.
public enum UntrustedInputs {
    /// Verifies and parses checkpoint bytes as a resumed `cil run` does; returns the
    /// phase and the number of tensors.
    public static func checkpoint(_ bytes: [UInt8], path: String) throws -> (phase: Int, tensors: Int) {
        let checkpoint = try Checkpoint.decode(Data(bytes), path: path)
        return (checkpoint.header.phase, checkpoint.values.count)
    }

    /// Verifies and parses checkpoint bytes as a resumed `cil run` does; returns the
    /// in-progress state's elapsed seconds and their breakdown by part (both nil in a
    /// finished phase's file; the breakdown nil in a file of an older cil).
    public static func inProgressSeconds(_ bytes: [UInt8], path: String) throws -> (seconds: Double, breakdown: [String: Double]?)? {
        let checkpoint = try Checkpoint.decode(Data(bytes), path: path)
        return checkpoint.header.inProgress.map { ($0.seconds, $0.secondsBreakdown) }
    }

    /// Parses an experiment file's text as `cil compare FILE` does and plans its
    /// runs; returns their `cil run` argument lists.
    public static func experiment(_ text: String, path: String) throws -> [[String]] {
        let experiment = try Experiment.parse(text, file: path)
        let plan = ComparisonPlan(experiment: experiment, directory: URL(fileURLWithPath: "/nonexistent"),
                                  pluginDirs: [], extraArguments: [])
        return plan.cells().map(\.arguments)
    }

    /// The encoded checkpoint format's checksum: SHA-256 of everything before it.
    public static func checksummed(_ body: [UInt8]) -> [UInt8] {
        [UInt8](Checkpoint.checksummed(Data(body)))
    }

    /// Whether `error` is one of cil's own errors, a complete sentence for the user.
    public static func isUserFacing(_ error: any Error) -> Bool {
        error is RunError || error is Experiment.ParseError
    }
}
