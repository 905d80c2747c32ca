/// A fully connected layer y = x Wᵀ + b; W: [out, in] and b: [out] initialised
/// U(−1/√in, 1/√in) like torch.nn.Linear.
public final class Linear: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public var isTraining = true

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RandomGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Initializers.uniform([outFeatures, inFeatures], bound: bound, rng: &rng)
        weight.requiresGrad = true
        self.bias = bias ? Initializers.uniform([outFeatures], bound: bound, rng: &rng) : nil
        self.bias?.requiresGrad = true
    }

    public var localParameters: [(String, Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    private init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    /// A deep copy (values and trainability).
    public func cloned() -> Linear {
        let c = Linear(weight: weight.copy(requiresGrad: weight.requiresGrad),
                       bias: bias.map { $0.copy(requiresGrad: $0.requiresGrad) })
        c.isTraining = isTraining
        return c
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, weight: weight, bias: bias)
    }
}
