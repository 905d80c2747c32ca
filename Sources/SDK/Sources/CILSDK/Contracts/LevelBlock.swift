/// The part of a backbone between two aggregation points (a "level"): for the CIFAR
/// ResNet, level 1 is stem + layer1, level 2 is layer2, level 3 is layer3 + pooling.
/// A MANets level holds two of these, a stable and a plastic one.
public protocol LevelBlock: Layer {
    /// Level input -> level output.
    func callAsFunction(_ x: Tensor) -> Tensor
    /// A deep copy: new parameter and buffer tensors with the same values and flags.
    func cloned() -> any LevelBlock
    /// Every convolution inside, in a stable order (branch types wrap or freeze them).
    var convolutions: [Conv2d] { get }
    /// Every batch norm inside, in a stable order.
    var batchNorms: [BatchNorm2d] { get }
}
