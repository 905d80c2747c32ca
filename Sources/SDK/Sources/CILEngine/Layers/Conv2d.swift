/// A 2-D convolution without bias (every conv of the CIL ResNets is bias-free).
///
/// weight: [out, in, k, k], initialised Kaiming-normal (fan_out, ReLU gain), the
/// initialisation of the original ResNets.
public final class Conv2d: Layer {
    public let weight: Tensor
    public let stride: Int
    public let padding: Int
    public var isTraining = true

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                rng: inout RandomGenerator) {
        weight = Initializers.kaimingNormalFanOut([outChannels, inChannels, kernel, kernel], rng: &rng)
        weight.requiresGrad = true
        self.stride = stride
        self.padding = padding
    }

    public var localParameters: [(String, Tensor)] { [("weight", weight)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight, stride: stride, padding: padding)
    }
}
