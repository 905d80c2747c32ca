/// A plain fully connected classifier, logits = x Wᵀ + b (the head of the classic
/// iCaRL of Rebuffi et al. 2017). Every row trains in every phase; `expand(by:)`
/// appends rows initialised U(−1/√D, 1/√D), bias 0.
public final class LinearHead: ClassifierHead {
    public private(set) var weight: Tensor
    public private(set) var bias: Tensor
    public let featureDimension: Int
    public var isTraining = true

    public init(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) {
        self.featureDimension = featureDimension
        weight = Initializers.uniform([classCount, featureDimension], bound: 1 / Float(featureDimension).squareRoot(), rng: &rng)
        weight.requiresGrad = true
        bias = Tensor(shape: [classCount], repeating: 0, requiresGrad: true)
    }

    private init(weight: Tensor, bias: Tensor, featureDimension: Int) {
        self.weight = weight
        self.bias = bias
        self.featureDimension = featureDimension
    }

    public var classCount: Int { weight.shape[0] }
    public var localParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    public var parameterRoles: [(tensor: Tensor, role: HeadParameterRole)] { [(weight, .shared), (bias, .shared)] }

    public func forward(_ features: Tensor) -> HeadOutput {
        HeadOutput(logits: Tensor.linear(features, weight: weight, bias: bias))
    }

    public func expand(by count: Int, rng: inout RandomGenerator) {
        let rows = Initializers.uniform([count, featureDimension], bound: 1 / Float(featureDimension).squareRoot(), rng: &rng)
        weight = withNoGrad { Tensor.concatenate([weight, rows], axis: 0).copy(requiresGrad: true) }
        bias = withNoGrad { Tensor.concatenate([bias, Tensor.zeros([count])], axis: 0).copy(requiresGrad: true) }
    }

    public func cloned() -> any ClassifierHead {
        let c = LinearHead(weight: weight.copy(requiresGrad: weight.requiresGrad),
                           bias: bias.copy(requiresGrad: bias.requiresGrad), featureDimension: featureDimension)
        c.isTraining = isTraining
        return c
    }
}
