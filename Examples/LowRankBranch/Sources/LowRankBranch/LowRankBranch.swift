import CILSDK

/// The low-rank kernel: effective kernel θ + reshape(U·V), with θ the frozen stored
/// kernel [O, C, k, k], U: [O, r] and V: [r, C·k·k]. U starts at 0 and V small and
/// random, so the conv starts exactly equal to its phase-0 self (and U gets a
/// gradient from the first step).
public final class LowRankKernelAdapter: KernelAdapter {
    /// U: [O, r], initialised 0.
    public let up: Tensor
    /// V: [r, C·k·k], initialised N(0, 0.01²).
    public let down: Tensor
    public var isTraining = true

    public init(outChannels: Int, inChannels: Int, kernelSize: Int, rank: Int, rng: inout RandomGenerator) {
        up = Tensor.zeros([outChannels, rank], requiresGrad: true)
        down = Initializers.normal([rank, inChannels * kernelSize * kernelSize], std: 0.01, rng: &rng)
        down.requiresGrad = true
    }

    private init(up: Tensor, down: Tensor) {
        self.up = up
        self.down = down
    }

    public var localParameters: [(String, Tensor)] { [("lowrank_u", up), ("lowrank_v", down)] }

    public func effectiveKernel(_ weight: Tensor) -> Tensor {
        weight + Tensor.matmul(up, down).reshaped(weight.shape)
    }

    public func cloned() -> any KernelAdapter {
        let c = LowRankKernelAdapter(up: up.copy(requiresGrad: up.requiresGrad),
                                     down: down.copy(requiresGrad: down.requiresGrad))
        c.isTraining = isTraining
        return c
    }
}

/// `lowrank`: every conv of the block (stem and 1×1 shortcuts included) keeps its
/// phase-0 kernel frozen and learns a rank-`rank` update U·V of it; the batch norms
/// stay trainable. A parameter-cheap alternative to `ss` or `free` for either branch.
public final class LowRankBranch: BranchType {
    public static let info = PluginInfo(
        name: "lowrank", version: "0.1.0",
        summary: "frozen phase-0 kernels + a trainable rank-r update U·V per conv, BN trainable")
    public static let options: [OptionSpec] = [
        .int("rank", default: 4, help: "rank r of each conv's update (U: [O, r], V: [r, C·k·k])"),
    ]

    let rank: Int

    public init(options: PluginOptions) throws {
        rank = options.int("rank")
        guard rank >= 1 else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "rank", expected: "an integer >= 1", got: String(rank))
        }
    }

    public func derive(from phaseZeroCopy: any LevelBlock, level: Int, rng: inout RandomGenerator) throws -> any LevelBlock {
        for conv in phaseZeroCopy.convolutions {
            conv.weight.requiresGrad = false
            conv.kernelAdapter = LowRankKernelAdapter(outChannels: conv.outChannels, inChannels: conv.inChannels,
                                                      kernelSize: conv.kernelSize, rank: rank, rng: &rng)
        }
        for bn in phaseZeroCopy.batchNorms {
            bn.gamma.requiresGrad = true
            bn.beta.requiresGrad = true
        }
        return phaseZeroCopy
    }

    public func parameterGroups(for block: any LevelBlock, level: Int, learningRate: Float, weightDecay: Float) -> [ParameterGroup] {
        [ParameterGroup(name: "lowrank-level\(level)", parameters: block.trainableParameters,
                        learningRate: learningRate, weightDecay: weightDecay)]
    }
}
