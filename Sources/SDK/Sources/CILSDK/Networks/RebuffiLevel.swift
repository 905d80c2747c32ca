/// One level of PODNet's CIFAR network (docs/ALGORITHMS.md §2.5, §3.1): the stem
/// (conv3×3, BN, ReLU; first level only) and the blocks of one stage. Its output map
/// is one of the four POD-spatial maps.
///
/// Parameter names follow PODNet's state dict: the stem is `conv_1_3x3`, `bn_1`; a
/// block is named by `blockNames` (`stage_2.blocks.0`, ..., or `stage_4` for the
/// one-block stage PODNet holds as a bare block).
public final class RebuffiLevel: LevelBlock {
    /// The stem, on the first level only (no max pool).
    public let stem: ResNetLevel.Stem?
    public let blocks: [RebuffiBlock]
    /// The PyTorch module name of each block.
    public let blockNames: [String]
    public var isTraining = true

    public init(stem: ResNetLevel.Stem?, blocks: [RebuffiBlock], blockNames: [String]) {
        precondition(blocks.count == blockNames.count, "RebuffiLevel: \(blocks.count) blocks, \(blockNames.count) names")
        precondition(stem?.maxPool != true, "RebuffiLevel: the CIFAR stem has no max pool")
        self.stem = stem
        self.blocks = blocks
        self.blockNames = blockNames
    }

    public var children: [(String, any Layer)] {
        var c: [(String, any Layer)] = []
        if let stem { c += [("conv_1_3x3", stem.conv), ("bn_1", stem.bn)] }
        c += zip(blockNames, blocks).map { ($0, $1) }
        return c
    }

    public var convolutions: [Conv2d] { (stem.map { [$0.conv] } ?? []) + blocks.flatMap(\.convolutions) }
    public var batchNorms: [BatchNorm2d] { (stem.map { [$0.bn] } ?? []) + blocks.flatMap(\.batchNorms) }

    /// Level input map -> level output map.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = x
        if let stem { y = stem.bn(stem.conv(y), relu: true) }
        for block in blocks { y = block(y) }
        return y
    }

    public func cloned() -> any LevelBlock { clonedLevel() }

    /// A deep copy with the concrete type.
    public func clonedLevel() -> RebuffiLevel {
        let c = RebuffiLevel(stem: stem.map { ResNetLevel.Stem(conv: $0.conv.cloned(), bn: $0.bn.cloned(), maxPool: false) },
                             blocks: blocks.map { $0.cloned() }, blockNames: blockNames)
        c.isTraining = isTraining
        return c
    }
}
