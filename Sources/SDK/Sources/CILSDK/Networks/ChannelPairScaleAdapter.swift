/// The `ss` kernel (`Conv2dMtl` of the original code, docs/ALGORITHMS.md §3.3):
/// effective kernel θ ⊙ s, with θ the frozen stored kernel [O, C, k, k] and s a learned
/// scale of shape [O, C, 1, 1] (one per output-input channel pair, broadcast over k×k),
/// initialised to 1.
///
/// Where the product records no gradient (no-grad code such as evaluation, or θ and s
/// both frozen: the reference network, the α pass), it is computed once and reused
/// while θ and s keep their `version`s, so the convolution's transformed weights are
/// reused too (`TensorStorage.derived`); any write to θ or s (an optimizer step,
/// `assign`, `withUnsafeMutableBufferPointer`) makes the next call recompute it.
public final class ChannelPairScaleAdapter: KernelAdapter {
    /// s: [O, C, 1, 1].
    public let scale: Tensor
    public var isTraining = true
    /// The last no-grad product, with the θ and the versions it was made from.
    private var reusable: (weight: Tensor, weightVersion: UInt64, scaleVersion: UInt64, kernel: Tensor)?

    public init(outChannels: Int, inChannels: Int) {
        scale = Tensor(shape: [outChannels, inChannels, 1, 1], repeating: 1, requiresGrad: true)
    }

    private init(scale: Tensor) { self.scale = scale }

    public var localParameters: [(String, Tensor)] { [("mtl_weight", scale)] }

    /// θ ⊙ s ([O, C, k, k]); a value returned without a graph is shared until θ or s
    /// changes, and must not be written.
    public func effectiveKernel(_ weight: Tensor) -> Tensor {
        if GradMode.isEnabled && (weight.requiresGrad || scale.requiresGrad) { return weight * scale }
        let weightVersion = weight.version, scaleVersion = scale.version
        if let r = reusable, r.weight === weight, r.weightVersion == weightVersion, r.scaleVersion == scaleVersion {
            return r.kernel
        }
        let kernel = weight * scale
        reusable = (weight, weightVersion, scaleVersion, kernel)
        return kernel
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
