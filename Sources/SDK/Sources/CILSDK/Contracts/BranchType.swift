/// How a MANets block is derived from the trained phase-0 block and how it trains
/// (docs/ALGORITHMS.md §3.3). Built-ins: `free`, `fixed`, `ss`. A plugin registers its
/// type with `PluginRegistrar.register(branchType:)`.
///
/// The host calls `derive` once per level at the start of phase 1, on a deep copy
/// of the phase-0 level, and keeps the derived block for all later phases;
/// `parameterGroups` is asked at the start of every phase >= 1.
public protocol BranchType: AnyObject {
    /// Name (`--branch-1 NAME`), version and summary.
    static var info: PluginInfo { get }
    /// Options (`--branch-option NAME=VALUE`), with defaults and help.
    static var options: [OptionSpec] { get }

    /// A branch type configured with checked options.
    init(options: PluginOptions) throws

    /// The block this level uses from phase 1 on. `phaseZeroCopy` is a deep copy of
    /// the trained phase-0 level (1-based `level`): modify and return it (freeze
    /// kernels, attach `Conv2d.kernelAdapter`s, ...) or return a new block with the
    /// same input and output shapes.
    func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock

    /// The optimizer groups of a derived block, given the phase's base learning rate
    /// and weight decay. Tensors in no group are not updated by the optimizer.
    func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup]
}
