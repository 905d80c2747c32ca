/// The CIFAR "modified ResNet" of the original code (SPEC.md 2.1; ResNet-32 for
/// n = 5 blocks per stage): stem conv3×3 3→16 + BN + ReLU, then three stages of n
/// basic blocks (16, 32, 64 channels; stride 2 with a projection shortcut at the
/// start of stages 2 and 3), no ReLU after the very last block, and 8×8 average
/// pooling to a 64-d feature (which can be negative). No classifier: heads are
/// separate layers.
///
/// The network is organised in 3 *levels*, the unit MANets aggregates:
/// level 1 = stem + layer1 ([N,3,32,32] -> [N,16,32,32]),
/// level 2 = layer2 (-> [N,32,16,16]), level 3 = layer3 + average pool (-> [N,64]).
public final class ResNetCIFAR: Layer {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let layer1: [BasicBlock]
    public let layer2: [BasicBlock]
    public let layer3: [BasicBlock]
    public var isTraining = true

    /// Feature dimension of the pooled output.
    public let featureDimension = 64
    /// Number of levels (aggregation points).
    public static let levelCount = 3

    /// A ResNet of depth 6n + 2 (32 for n = 5), Kaiming-normal convs, BN γ = 1, β = 0.
    public init(blocksPerStage n: Int = 5, rng: inout RandomGenerator) {
        precondition(n >= 1, "ResNetCIFAR: needs at least one block per stage")
        conv1 = Conv2d(3, 16, kernel: 3, stride: 1, padding: 1, rng: &rng)
        bn1 = BatchNorm2d(16)
        func stage(_ cin: Int, _ cout: Int, _ stride: Int, last: Bool, rng: inout RandomGenerator) -> [BasicBlock] {
            (0..<n).map { i in
                BasicBlock(i == 0 ? cin : cout, cout, stride: i == 0 ? stride : 1, isLast: last && i == n - 1, rng: &rng)
            }
        }
        layer1 = stage(16, 16, 1, last: false, rng: &rng)
        layer2 = stage(16, 32, 2, last: false, rng: &rng)
        layer3 = stage(32, 64, 2, last: true, rng: &rng)
    }

    public var children: [(String, any Layer)] {
        var c: [(String, any Layer)] = [("conv1", conv1), ("bn1", bn1)]
        for (name, blocks) in [("layer1", layer1), ("layer2", layer2), ("layer3", layer3)] {
            c += blocks.enumerated().map { ("\(name).\($0.offset)", $0.element) }
        }
        return c
    }

    /// Runs level `level` (1-based) on the previous level's output.
    public func level(_ level: Int, _ x: Tensor) -> Tensor {
        switch level {
        case 1: return layer1.reduce(bn1(conv1(x)).relu()) { $1($0) }
        case 2: return layer2.reduce(x) { $1($0) }
        case 3:
            let y = layer3.reduce(x) { $1($0) }
            return y.avgPool2d(kernel: y.shape[2], stride: 1).flattened()
        default: preconditionFailure("ResNetCIFAR has levels 1...3, not \(level)")
        }
    }

    /// Images [N, 3, 32, 32] -> pooled features [N, 64].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        (1...Self.levelCount).reduce(x) { level($1, $0) }
    }
}
