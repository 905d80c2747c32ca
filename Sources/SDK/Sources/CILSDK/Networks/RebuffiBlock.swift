/// The residual block of PODNet's CIFAR network (docs/ALGORITHMS.md §2.5):
///     y = BN_b(conv_b(ReLU(BN_a(conv_a(x))))) + shortcut(x)
/// with **no ReLU after the addition**. conv_a is 3×3 with stride 2 when the block
/// doubles the width, else 1; conv_b is 3×3. The shortcut is the identity, or, when
/// the block doubles the width, every other row and column of x followed by as many
/// zero channels (`Tensor.subsampledZeroPadded`): no parameters.
///
/// Initialisation: convs Kaiming-normal (fan_out, ReLU gain); BN_a γ = 1, and
/// BN_b γ = 0 (`zeroResidualGamma`, PODNet's `zero_residual`), so that a fresh block
/// is its shortcut; β = 0. Parameter names are PODNet's (`conv_a`, `bn_a`, `conv_b`,
/// `bn_b`).
public final class RebuffiBlock: Layer {
    public let convA: Conv2d
    public let bnA: BatchNorm2d
    public let convB: Conv2d
    public let bnB: BatchNorm2d
    /// Whether the block doubles the width and halves the side.
    public let doublesWidth: Bool
    public var isTraining = true

    /// A block taking `inChannels` channels (and giving twice as many if `doublesWidth`).
    public init(_ inChannels: Int, doublesWidth: Bool, zeroResidualGamma: Bool = true, rng: inout RandomGenerator) {
        let out = doublesWidth ? 2 * inChannels : inChannels
        convA = Conv2d(inChannels, out, kernel: 3, stride: doublesWidth ? 2 : 1, padding: 1, rng: &rng)
        bnA = BatchNorm2d(out)
        convB = Conv2d(out, out, kernel: 3, stride: 1, padding: 1, rng: &rng)
        bnB = BatchNorm2d(out)
        if zeroResidualGamma { bnB.gamma.fill(0) }
        self.doublesWidth = doublesWidth
    }

    private init(convA: Conv2d, bnA: BatchNorm2d, convB: Conv2d, bnB: BatchNorm2d, doublesWidth: Bool) {
        self.convA = convA; self.bnA = bnA; self.convB = convB; self.bnB = bnB
        self.doublesWidth = doublesWidth
    }

    public var children: [(String, any Layer)] { [("conv_a", convA), ("bn_a", bnA), ("conv_b", convB), ("bn_b", bnB)] }

    /// Convolutions in order: conv_a, conv_b.
    public var convolutions: [Conv2d] { [convA, convB] }
    /// Batch norms in order: bn_a, bn_b.
    public var batchNorms: [BatchNorm2d] { [bnA, bnB] }

    /// [N, C, H, W] -> [N, C, H, W], or [N, 2C, ⌈H/2⌉, ⌈W/2⌉] when doubling.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let residual = bnB(convB(bnA(convA(x), relu: true)))
        let shortcut = doublesWidth ? x.subsampledZeroPadded(stride: 2, channels: 2 * x.shape[1]) : x
        return residual + shortcut
    }

    /// A deep copy.
    public func cloned() -> RebuffiBlock {
        let c = RebuffiBlock(convA: convA.cloned(), bnA: bnA.cloned(), convB: convB.cloned(), bnB: bnB.cloned(),
                             doublesWidth: doublesWidth)
        c.isTraining = isTraining
        return c
    }
}
