/// Turns a convolution's stored kernel into the kernel it applies; lets a branch
/// type reparameterise a conv without replacing it (e.g. `ss`: θ ⊙ s with a learned
/// scale per (output, input) channel pair; a low-rank adapter: θ + U·V).
public protocol KernelAdapter: Layer {
    /// The kernel to convolve with, from the stored weight [O, C, kH, kW] (same shape).
    func effectiveKernel(_ weight: Tensor) -> Tensor
    /// A deep copy.
    func cloned() -> any KernelAdapter
}

/// A 2-D convolution without bias (every conv of the CIL ResNets is bias-free).
///
/// weight: [out, in, k, k], initialised Kaiming-normal (fan_out, ReLU gain), the
/// initialisation of the original ResNets. With a `kernelAdapter`, the conv applies
/// `kernelAdapter.effectiveKernel(weight)` instead of `weight`.
public final class Conv2d: Layer {
    public let weight: Tensor
    public let stride: Int
    public let padding: Int
    /// Reparameterises the kernel (nil: use `weight` as it is).
    public var kernelAdapter: (any KernelAdapter)?
    public var isTraining = true

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                rng: inout RandomGenerator) {
        weight = Initializers.kaimingNormalFanOut([outChannels, inChannels, kernel, kernel], rng: &rng)
        weight.requiresGrad = true
        weight.name = "weight"
        self.stride = stride
        self.padding = padding
    }

    /// A conv with the given weight tensor (used as is, not copied).
    public init(weight: Tensor, stride: Int, padding: Int) {
        precondition(weight.rank == 4, "Conv2d: weight must be [out, in, kH, kW], got \(weight.shape)")
        self.weight = weight
        self.stride = stride
        self.padding = padding
    }

    public var localParameters: [(String, Tensor)] { [("weight", weight)] }
    public var children: [(String, any Layer)] { kernelAdapter.map { [("adapter", $0)] } ?? [] }

    /// Output channels, input channels and kernel size.
    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernelSize: Int { weight.shape[2] }

    /// [N, in, H, W] -> [N, out, H_out, W_out].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let kernel = kernelAdapter?.effectiveKernel(weight) ?? weight
        return Tensor.conv2d(x, weight: kernel, stride: stride, padding: padding)
    }

    /// A deep copy (weight values and trainability, adapter).
    public func cloned() -> Conv2d {
        let c = Conv2d(weight: weight.copy(requiresGrad: weight.requiresGrad), stride: stride, padding: padding)
        c.kernelAdapter = kernelAdapter?.cloned()
        c.isTraining = isTraining
        return c
    }
}
