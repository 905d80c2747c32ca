/// PODNet's CIFAR network, the "rebuffi" ResNet-32 (docs/ALGORITHMS.md §2.5), as a
/// backbone of four levels, without a classifier. `cil run --backbone rebuffi32`.
///
/// `cifar(blocksPerStage: n, width: w)`, n = 5 and w = 16 for rebuffi32:
/// - stem conv3×3 3→w (no bias), BN, ReLU;
/// - stage_1: n blocks of width w; stage_2: a width-doubling block (stride 2) and n − 1
///   blocks of 2w; stage_3: a width-doubling block and n − 2 blocks of 4w; stage_4: one
///   block of 4w (`RebuffiBlock`: zero-padded subsampling shortcuts, no ReLU after any
///   addition, each block's second BN γ starting at 0);
/// - levels: stem + stage_1 [N, w, 32, 32], stage_2 [N, 2w, 16, 16], stage_3
///   [N, 4w, 8, 8], stage_4 [N, 4w, 8, 8] (sides for 32×32 images): the four maps of
///   PODNet's POD-spatial, and on MANets the four aggregation points;
/// - feature: the global average of stage_4's map (PODNet's 8×8 average pool),
///   4w-dimensional, without a ReLU (PODNet's "raw" feature, which its classifier reads).
///
/// rebuffi32 has 463,504 parameters; parameter names are PODNet's state-dict names.
public final class RebuffiResNet: Backbone {
    /// The levels, input to output.
    public let levels: [RebuffiLevel]
    public let featureDimension: Int
    public var isTraining = true

    public init(levels: [RebuffiLevel], featureDimension: Int) {
        self.levels = levels
        self.featureDimension = featureDimension
    }

    public var levelBlocks: [any LevelBlock] { levels }

    /// The levels, unnamed: parameter names are PODNet's.
    public var children: [(String, any Layer)] { levels.map { ("", $0) } }

    /// Images -> pooled features [N, D].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        levels.reduce(x) { $1($0) }.globalAvgPool()
    }

    /// The network with `n` blocks in stage_1 and base width `width`; n ≥ 2, since
    /// stage_3 holds n − 2 blocks after its doubling one.
    public static func cifar(blocksPerStage n: Int = 5, width: Int = 16, rng: inout RandomGenerator) -> RebuffiResNet {
        precondition(n >= 2 && width >= 1, "RebuffiResNet.cifar: needs at least 2 blocks per stage and a positive width")
        let stem = ResNetLevel.Stem(conv: Conv2d(3, width, kernel: 3, stride: 1, padding: 1, rng: &rng),
                                    bn: BatchNorm2d(width), maxPool: false)
        func stage(_ index: Int, inWidth: Int, doubling: Bool, plain: Int, rng: inout RandomGenerator) -> RebuffiLevel {
            var blocks: [RebuffiBlock] = []
            if doubling { blocks.append(RebuffiBlock(inWidth, doublesWidth: true, rng: &rng)) }
            let w = doubling ? 2 * inWidth : inWidth
            for _ in 0..<plain { blocks.append(RebuffiBlock(w, doublesWidth: false, rng: &rng)) }
            return RebuffiLevel(stem: index == 1 ? stem : nil, blocks: blocks,
                                blockNames: blocks.indices.map { "stage_\(index).blocks.\($0)" })
        }
        let s1 = stage(1, inWidth: width, doubling: false, plain: n, rng: &rng)
        let s2 = stage(2, inWidth: width, doubling: true, plain: n - 1, rng: &rng)
        let s3 = stage(3, inWidth: 2 * width, doubling: true, plain: n - 2, rng: &rng)
        let s4 = RebuffiLevel(stem: nil, blocks: [RebuffiBlock(4 * width, doublesWidth: false, rng: &rng)],
                              blockNames: ["stage_4"])
        return RebuffiResNet(levels: [s1, s2, s3, s4], featureDimension: 4 * width)
    }
}
