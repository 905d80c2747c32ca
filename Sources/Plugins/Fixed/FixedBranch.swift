import CILSDK

/// `fixed` (docs/ALGORITHMS.md §3.3): the phase-0 block, copied, in an optimizer group
/// with learning rate 0 and weight decay 0. As in the original code it is not fully
/// frozen: in training mode its batch-norm running statistics keep updating.
public final class FixedBranch: BranchType {
    public static let info = PluginInfo(
        name: "fixed", version: "0.1.0", summary: "copy of the phase-0 block with learning rate 0 (BN statistics still update)")
    public static let options: [OptionSpec] = []

    public init(options: PluginOptions) throws {}

    public func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock {
        phaseZeroCopy
    }

    public func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup] {
        [ParameterGroup(name: "fixed-level\(level)", parameters: block.trainableParameters, learningRate: 0, weightDecay: 0)]
    }
}
