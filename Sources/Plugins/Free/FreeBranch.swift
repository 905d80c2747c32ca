import CILSDK

/// `free` (docs/ALGORITHMS.md §3.3): the phase-0 block, copied and fully trainable with
/// the phase's learning rate and weight decay. The MANets plastic block.
public final class FreeBranch: BranchType {
    public static let info = PluginInfo(
        name: "free", version: "0.1.0", summary: "fully trainable copy of the phase-0 block (the plastic branch)")
    public static let options: [OptionSpec] = []

    public init(options: PluginOptions) throws {}

    public func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock {
        phaseZeroCopy.setRequiresGrad(true)
        return phaseZeroCopy
    }

    public func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup] {
        [ParameterGroup(name: "free-level\(level)", parameters: block.trainableParameters,
                        learningRate: learningRate, weightDecay: weightDecay)]
    }
}
