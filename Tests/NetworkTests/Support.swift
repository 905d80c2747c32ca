import CILSDK

/// Test branch types with the behaviour of the built-in `free` and `fixed` plugins
/// (those are dynamic libraries; the plugin tests load the real ones).
final class TestFreeBranch: BranchType {
    static let info = PluginInfo(name: "test-free", version: "0", summary: "free, for tests")
    static let options: [OptionSpec] = []
    init(options: PluginOptions) throws {}
    init() {}
    func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock {
        phaseZeroCopy
    }
    func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup] {
        [ParameterGroup(name: "free\(level)", parameters: block.trainableParameters, learningRate: learningRate, weightDecay: weightDecay)]
    }
}

final class TestFixedBranch: BranchType {
    static let info = PluginInfo(name: "test-fixed", version: "0", summary: "fixed, for tests")
    static let options: [OptionSpec] = []
    init(options: PluginOptions) throws {}
    init() {}
    func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock {
        phaseZeroCopy
    }
    func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup] {
        [ParameterGroup(name: "fixed\(level)", parameters: block.trainableParameters, learningRate: 0, weightDecay: 0)]
    }
}

/// The `ss` derivation, through the SDK call the `ss` plugin makes.
final class TestScaleShiftBranch: BranchType {
    static let info = PluginInfo(name: "test-ss", version: "0", summary: "ss, for tests")
    static let options: [OptionSpec] = []
    init(options: PluginOptions) throws {}
    init() {}
    func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock {
        phaseZeroCopy.convertToScaleShift()
        return phaseZeroCopy
    }
    func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup] {
        [ParameterGroup(name: "ss\(level)", parameters: block.trainableParameters, learningRate: learningRate, weightDecay: weightDecay)]
    }
}

/// A small CIFAR ResNet (one block per stage) with a cosine head, trained for a few
/// steps so that BN statistics and weights are not at their initial values.
func trainedSmallNetwork(seed: UInt64, classes: Int = 6, mode: BranchMode = .dual) -> AggregatedNetwork {
    var rng = RandomGenerator(seed: seed)
    let backbone = ResNet.cifar(blocksPerStage: 1, rng: &rng)
    let head = CosineHead(featureDimension: 64, classCount: classes, rng: &rng)
    let net = AggregatedNetwork(backbone: backbone, head: head, branchMode: mode)
    let sgd = SGD(groups: OptimizerGroups.make(for: net, learningRate: 0.05, weightDecay: 5e-4, mode: .faithful))
    for _ in 0..<3 {
        let x = Initializers.normal([8, 3, 32, 32], std: 1, rng: &rng)
        let y = (0..<8).map { _ in rng.nextInt(below: classes) }
        sgd.zeroGrad()
        Tensor.crossEntropy(logits: net.forward(x).logits, targets: y).backward()
        sgd.step()
    }
    return net
}

/// max |a - b| / (atol + rtol |b|).
func worstError(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) / (atol + rtol * abs($1)) }.max() ?? 0
}
