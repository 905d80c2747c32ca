/// The `ss` kernel (`Conv2dMtl` of the original code, docs/ALGORITHMS.md §3.3):
/// effective kernel θ ⊙ s, with θ the frozen stored kernel [O, C, k, k] and s a learned
/// scale of shape [O, C, 1, 1] (one per output-input channel pair, broadcast over k×k),
/// initialised to 1.
public final class ChannelPairScaleAdapter: KernelAdapter {
    /// s: [O, C, 1, 1].
    public let scale: Tensor
    public var isTraining = true

    public init(outChannels: Int, inChannels: Int) {
        scale = Tensor(shape: [outChannels, inChannels, 1, 1], repeating: 1, requiresGrad: true)
    }

    private init(scale: Tensor) { self.scale = scale }

    public var localParameters: [(String, Tensor)] { [("mtl_weight", scale)] }

    public func effectiveKernel(_ weight: Tensor) -> Tensor {
        weight * scale
    }

    public func cloned() -> any KernelAdapter {
        ChannelPairScaleAdapter(scale: scale.copy(requiresGrad: scale.requiresGrad))
    }
}

extension LevelBlock {
    /// Turns every conv of this block (stem and 1×1 shortcuts included) into an `ss`
    /// conv: its stored kernel frozen, a `ChannelPairScaleAdapter` (scales 1)
    /// attached; every batch norm's γ and β trainable (docs/ALGORITHMS.md §3.3).
    public func convertToScaleShift() {
        for conv in convolutions {
            conv.weight.requiresGrad = false
            conv.kernelAdapter = ChannelPairScaleAdapter(outChannels: conv.outChannels, inChannels: conv.inChannels)
        }
        for bn in batchNorms {
            bn.gamma.requiresGrad = true
            bn.beta.requiresGrad = true
        }
    }
}
