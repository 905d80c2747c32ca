/// A network without its classifier, cut into levels (docs/ALGORITHMS.md §3.1): what
/// `AggregatedNetwork` is built from. Its levels, applied in order, map images to the
/// last level's map; the pooled feature is that map's global average.
///
/// Conformers: `ResNet` (the MANets ResNets, §2.1-§2.2) and `RebuffiResNet`
/// (PODNet's CIFAR network, §2.5).
public protocol Backbone: Layer {
    /// The levels, input to output (each a phase-0 block of `AggregatedNetwork`).
    var levelBlocks: [any LevelBlock] { get }
    /// Dimension of the pooled feature (channels of the last level's map).
    var featureDimension: Int { get }
}

extension ResNet: Backbone {
    public var levelBlocks: [any LevelBlock] { levels }
}
