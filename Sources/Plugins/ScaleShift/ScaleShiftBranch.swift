import CILSDK

/// `ss` (scaling and shifting, docs/ALGORITHMS.md §3.3): every conv of the block, stem
/// and 1×1 shortcuts included, keeps its phase-0 kernel frozen and learns a scale per
/// (output, input) channel pair; the batch norms (the "shift") stay trainable and
/// their running statistics keep updating. The MANets stable block.
public final class ScaleShiftBranch: BranchType {
    public static let info = PluginInfo(
        name: "ss", version: "0.1.0",
        summary: "frozen phase-0 kernels x learned per-channel-pair scales, BN trainable (the stable branch)")
    public static let options: [OptionSpec] = []

    public init(options: PluginOptions) throws {}

    public func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock {
        phaseZeroCopy.convertToScaleShift()
        return phaseZeroCopy
    }

    public func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup] {
        [ParameterGroup(name: "ss-level\(level)", parameters: block.trainableParameters,
                        learningRate: learningRate, weightDecay: weightDecay)]
    }
}
