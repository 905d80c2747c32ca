/// A CIL backbone: a ResNet split into levels (docs/ALGORITHMS.md §2.1, §2.2, §3.1),
/// without a classifier. Feeding images through every level gives the pooled feature.
///
/// - `cifar(blocksPerStage: 5)`: the CIFAR "modified ResNet-32": stem conv3×3 3→16,
///   three stages of 5 basic blocks (16, 32, 64 channels, stride 2 with projection
///   shortcuts at stages 2 and 3), no ReLU after the last block, 64-d feature.
///   Level maps: stem+layer1 [N,16,32,32], layer2 [N,32,16,16], layer3 [N,64,8,8];
///   the feature is the global average of the last map (the original 8×8 pool).
/// - `imageNet(depth: 18 or 34)`: torchvision layout (conv7×7/2, BN, ReLU, max pool
///   3×3/2, stages [2,2,2,2] or [3,4,6,3] of 64/128/256/512 channels), no ReLU after
///   the last block, 512-d feature (global average of layer4's 7×7 map). Levels:
///   stem+layer1, layer2, layer3, layer4.
///
/// Convs are Kaiming-normal (fan_out, ReLU gain), BN γ = 1 and β = 0.
public final class ResNet: Layer {
    /// The levels, input to output.
    public let levels: [ResNetLevel]
    /// Dimension of the pooled feature.
    public let featureDimension: Int
    public var isTraining = true

    public init(levels: [ResNetLevel], featureDimension: Int) {
        self.levels = levels
        self.featureDimension = featureDimension
    }

    /// The levels, unnamed: parameter names are the original PyTorch ones.
    public var children: [(String, any Layer)] { levels.map { ("", $0) } }

    /// Images -> pooled features [N, D].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        levels.reduce(x) { $1($0) }.globalAvgPool()
    }

    /// The CIFAR ResNet of depth 6n + 2 (ResNet-32 for n = 5).
    public static func cifar(blocksPerStage n: Int = 5, rng: inout RandomGenerator) -> ResNet {
        precondition(n >= 1, "ResNet.cifar: needs at least one block per stage")
        let stem = ResNetLevel.Stem(conv: Conv2d(3, 16, kernel: 3, stride: 1, padding: 1, rng: &rng),
                                    bn: BatchNorm2d(16), maxPool: false)
        func stage(_ cin: Int, _ cout: Int, _ stride: Int, last: Bool, rng: inout RandomGenerator) -> [BasicBlock] {
            (0..<n).map { i in
                BasicBlock(i == 0 ? cin : cout, cout, stride: i == 0 ? stride : 1, isLast: last && i == n - 1, rng: &rng)
            }
        }
        let l1 = stage(16, 16, 1, last: false, rng: &rng)
        let l2 = stage(16, 32, 2, last: false, rng: &rng)
        let l3 = stage(32, 64, 2, last: true, rng: &rng)
        return ResNet(levels: [
            ResNetLevel(stem: stem, blocks: l1, stageName: "layer1"),
            ResNetLevel(stem: nil, blocks: l2, stageName: "layer2"),
            ResNetLevel(stem: nil, blocks: l3, stageName: "layer3"),
        ], featureDimension: 64)
    }

    /// The ImageNet ResNet-18 or -34.
    public static func imageNet(depth: Int, rng: inout RandomGenerator) -> ResNet {
        let counts: [Int]
        switch depth {
        case 18: counts = [2, 2, 2, 2]
        case 34: counts = [3, 4, 6, 3]
        default: preconditionFailure("ResNet.imageNet: depth \(depth) is not 18 or 34")
        }
        let stem = ResNetLevel.Stem(conv: Conv2d(3, 64, kernel: 7, stride: 2, padding: 3, rng: &rng),
                                    bn: BatchNorm2d(64), maxPool: true)
        let widths = [64, 128, 256, 512]
        var levels: [ResNetLevel] = []
        var cin = 64
        for (s, (width, count)) in zip(widths, counts).enumerated() {
            let blocks = (0..<count).map { i in
                BasicBlock(i == 0 ? cin : width, width, stride: i == 0 && s > 0 ? 2 : 1,
                           isLast: s == 3 && i == count - 1, rng: &rng)
            }
            cin = width
            levels.append(ResNetLevel(stem: s == 0 ? stem : nil, blocks: blocks, stageName: "layer\(s + 1)"))
        }
        return ResNet(levels: levels, featureDimension: 512)
    }
}
