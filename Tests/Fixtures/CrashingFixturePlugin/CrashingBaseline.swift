import CILSDK
#if canImport(Glibc)
import Glibc
#endif

/// `crashing-fixture`: a linear head trained with cross-entropy whose loss crashes the
/// process in phase `crash-phase` (default 1; -1: never): by SIGSEGV (`crash=segv`,
/// raised as a wild pointer would) or by Swift's trap (`crash=trap`, a fatalError).
public final class CrashingBaseline: Baseline {
    public static let info = PluginInfo(name: "crashing-fixture", version: "0.0.1",
                                        summary: "test fixture: a baseline whose loss crashes the process")

    public static let options: [OptionSpec] = [
        .int("crash-phase", default: 1, help: "the phase whose first loss crashes (-1: never)"),
        .choice("crash", ["segv", "trap"], default: "segv", help: "how it crashes"),
    ]

    let crashPhase: Int
    let crash: String

    public init(options: PluginOptions, setting: RunSetting) throws {
        crashPhase = options.int("crash-phase")
        crash = options.string("crash")
    }

    public func makeHead(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) throws -> any ClassifierHead {
        LinearHead(featureDimension: featureDimension, classCount: classCount, rng: &rng)
    }

    public func phaseWillStart(_ context: PhaseStartContext) throws {}

    public func loss(_ batch: BatchContext) throws -> LossOutput {
        if batch.phase == crashPhase {
            if crash == "trap" { fatalError("crashing-fixture: crashing on purpose in phase \(batch.phase)") }
            raise(SIGSEGV)
        }
        let ce = Tensor.crossEntropy(logits: batch.current.logits, targets: batch.targets)
        return LossOutput(total: ce, components: ["ce": ce.item])
    }
}
