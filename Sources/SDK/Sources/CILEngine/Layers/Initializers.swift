/// Parameter initialisers, each drawing from a seeded `RandomGenerator`.
public enum Initializers {
    /// Kaiming-normal with mode fan_out and ReLU gain (torch `kaiming_normal_(mode=
    /// 'fan_out', nonlinearity='relu')`): N(0, 2 / fan_out), fan_out = shape[0] ·
    /// ∏ shape[2...] (output channels × receptive field).
    public static func kaimingNormalFanOut(_ shape: [Int], rng: inout RandomGenerator) -> Tensor {
        let fanOut = shape[0] * shape.dropFirst(2).reduce(1, *)
        let std = (2 / Float(fanOut)).squareRoot()
        return normal(shape, std: std, rng: &rng)
    }

    /// N(0, std²) per element.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float, rng: inout RandomGenerator) -> Tensor {
        let n = Tensor.elementCount(shape)
        var v = [Float](repeating: 0, count: n)
        for i in 0..<n { v[i] = mean + std * rng.nextNormal() }
        return Tensor(shape: shape, v)
    }

    /// U(−bound, bound) per element.
    public static func uniform(_ shape: [Int], bound: Float, rng: inout RandomGenerator) -> Tensor {
        let n = Tensor.elementCount(shape)
        var v = [Float](repeating: 0, count: n)
        for i in 0..<n { v[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
        return Tensor(shape: shape, v)
    }
}
