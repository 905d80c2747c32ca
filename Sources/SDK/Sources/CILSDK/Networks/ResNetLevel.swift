/// One level of a CIL ResNet (docs/ALGORITHMS.md §3.1): the part between two
/// aggregation points. The first level starts with the stem (conv, BN, ReLU, and on
/// ImageNet a 3×3/2 max pool). Levels output maps [N, C, H, W]; the network pools the
/// last one into the feature. (The original code pools inside the last level; pooling
/// and aggregation are both linear, so aggregating the maps and then pooling is
/// the same, and keeps the last map for POD-spatial.)
///
/// Parameter names follow the original PyTorch state dicts (`conv1.weight`,
/// `layer2.0.downsample.0.weight`, ...), so the levels of one network list disjoint
/// names.
public final class ResNetLevel: LevelBlock {
    /// The stem, on the first level only.
    public struct Stem {
        public let conv: Conv2d
        public let bn: BatchNorm2d
        /// torchvision's 3×3 stride-2 max pool after the stem ReLU (ImageNet).
        public let maxPool: Bool
    }

    public let stem: Stem?
    public let blocks: [BasicBlock]
    /// PyTorch name of the stage the blocks belong to ("layer1", ...).
    public let stageName: String
    public var isTraining = true

    public init(stem: Stem?, blocks: [BasicBlock], stageName: String) {
        self.stem = stem
        self.blocks = blocks
        self.stageName = stageName
    }

    public var children: [(String, any Layer)] {
        var c: [(String, any Layer)] = []
        if let stem { c += [("conv1", stem.conv), ("bn1", stem.bn)] }
        c += blocks.enumerated().map { ("\(stageName).\($0.offset)", $0.element) }
        return c
    }

    public var convolutions: [Conv2d] { (stem.map { [$0.conv] } ?? []) + blocks.flatMap(\.convolutions) }
    public var batchNorms: [BatchNorm2d] { (stem.map { [$0.bn] } ?? []) + blocks.flatMap(\.batchNorms) }

    /// Level input map -> level output map.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = x
        if let stem {
            y = stem.bn(stem.conv(y), relu: true)
            if stem.maxPool { y = y.maxPool2d(kernel: 3, stride: 2, padding: 1) }
        }
        for block in blocks { y = block(y) }
        return y
    }

    public func cloned() -> any LevelBlock { clonedLevel() }

    /// A deep copy with the concrete type.
    public func clonedLevel() -> ResNetLevel {
        let c = ResNetLevel(stem: stem.map { Stem(conv: $0.conv.cloned(), bn: $0.bn.cloned(), maxPool: $0.maxPool) },
                            blocks: blocks.map { $0.cloned() }, stageName: stageName)
        c.isTraining = isTraining
        return c
    }
}
