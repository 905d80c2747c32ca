import CILSDK

/// The `ss` kernel (Conv2dMtl of the original code, SPEC.md 3.3): effective kernel
/// θ ⊙ s, with θ the frozen stored kernel [O, C, k, k] and s a learned scale of
/// shape [O, C, 1, 1] (one per output-input channel pair, broadcast over k×k),
/// initialised to 1.
public final class ScaleShiftAdapter: KernelAdapter {
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
        ScaleShiftAdapter(scale: scale.copy(requiresGrad: scale.requiresGrad))
    }
}
