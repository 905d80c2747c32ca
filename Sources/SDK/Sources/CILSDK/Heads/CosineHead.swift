/// The cosine classifier of LUCIR and the MANets code (docs/ALGORITHMS.md §2.3:
/// `CosineLinear` in phase 0, `SplitCosineLinear` from phase 1 on):
/// logits = σ · [cos(x, W_old) | cos(x, W_new)], cos(x, w) = ⟨x̂, ŵ⟩ with
/// v̂ = v / max(‖v‖, 1e-12), one learnable scale σ (shape [1], initially 1).
///
/// Rows are classes (mapped labels in order). `oldWeight` ([C_old, D], the original
/// `fc1`) is frozen; `newWeight` ([C_new, D], `fc2`, or the whole `fc` in phase 0)
/// and σ train. `expand(by:)` moves the new rows to the old block and appends fresh
/// rows, initialised U(−1/√D, 1/√D) and usually overwritten by `imprint`.
public final class CosineHead: ClassifierHead {
    public private(set) var oldWeight: Tensor?
    public private(set) var newWeight: Tensor
    public let sigma: Tensor
    public let featureDimension: Int
    public var isTraining = true

    /// The `Baseline.phaseZeroRecipe` of a phase 0 that trains this head, made by
    /// `init(featureDimension:classCount:rng:)`, with softmax cross-entropy on its
    /// logits alone and no phase-end work (LUCIR; iCaRL's `manets` variant).
    public static let crossEntropyPhaseZeroRecipe = "cosine-head/softmax-cross-entropy"

    public init(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) {
        self.featureDimension = featureDimension
        newWeight = Self.freshRows(classCount, featureDimension, rng: &rng)
        sigma = Tensor(shape: [1], repeating: 1, requiresGrad: true)
    }

    private init(oldWeight: Tensor?, newWeight: Tensor, sigma: Tensor, featureDimension: Int) {
        self.oldWeight = oldWeight
        self.newWeight = newWeight
        self.sigma = sigma
        self.featureDimension = featureDimension
    }

    static func freshRows(_ count: Int, _ d: Int, rng: inout RandomGenerator) -> Tensor {
        let w = Initializers.uniform([count, d], bound: 1 / Float(d).squareRoot(), rng: &rng)
        w.requiresGrad = true
        return w
    }

    public var classCount: Int { (oldWeight?.shape[0] ?? 0) + newWeight.shape[0] }

    public var localParameters: [(String, Tensor)] {
        (oldWeight.map { [("fc1.weight", $0)] } ?? []) + [("fc2.weight", newWeight), ("sigma", sigma)]
    }

    public var parameterRoles: [(tensor: Tensor, role: HeadParameterRole)] {
        (oldWeight.map { [($0, .oldClasses)] } ?? []) + [(newWeight, .newClasses), (sigma, .shared)]
    }

    /// features [B, D] -> logits [B, C]; extras["cosines"] holds the unscaled cosines.
    public func forward(_ features: Tensor) -> HeadOutput {
        let x = features.l2Normalized(axis: 1)
        var parts: [Tensor] = []
        if let oldWeight { parts.append(Tensor.matmul(x, oldWeight.l2Normalized(axis: 1), transposeB: true)) }
        parts.append(Tensor.matmul(x, newWeight.l2Normalized(axis: 1), transposeB: true))
        let cosines = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 1)
        return HeadOutput(logits: cosines * sigma, extras: ["cosines": cosines])
    }

    public func expand(by count: Int, rng: inout RandomGenerator) {
        let merged = withNoGrad { () -> Tensor in
            let all = oldWeight.map { Tensor.concatenate([$0, newWeight], axis: 0) } ?? newWeight
            return all.copy()
        }
        merged.requiresGrad = false
        oldWeight = merged
        newWeight = Self.freshRows(count, featureDimension, rng: &rng)
    }

    public func cloned() -> any ClassifierHead {
        let c = CosineHead(oldWeight: oldWeight?.copy(requiresGrad: oldWeight!.requiresGrad),
                           newWeight: newWeight.copy(requiresGrad: newWeight.requiresGrad),
                           sigma: sigma.copy(requiresGrad: sigma.requiresGrad), featureDimension: featureDimension)
        c.isTraining = isTraining
        return c
    }

    /// Weight imprinting of the new rows (docs/ALGORITHMS.md §2.4): row c = avg_norm ·
    /// normalize(mean_i normalize(f_i)) over the features [n_c, D] of new class c
    /// (in order), avg_norm = the mean L2 norm of the old rows (1 if there are none).
    public func imprint(newClassFeatures: [Tensor]) {
        precondition(newClassFeatures.count == newWeight.shape[0],
                     "imprint: \(newClassFeatures.count) feature sets for \(newWeight.shape[0]) new classes")
        withNoGrad {
            var avgNorm: Float = 1
            if let oldWeight {
                let norms = (oldWeight * oldWeight).sum(axes: [1]).sqrt()
                avgNorm = norms.mean().item
            }
            for (c, features) in newClassFeatures.enumerated() {
                precondition(features.rank == 2 && features.shape[1] == featureDimension,
                             "imprint: features of class \(c) have shape \(features.shape), expected [n, \(featureDimension)]")
                let mean = features.l2Normalized(axis: 1).mean(axes: [0], keepDims: true)
                let row = mean.l2Normalized(axis: 1) * avgNorm
                newWeight.withUnsafeMutableBufferPointer { w in
                    row.withUnsafeBufferPointer { r in
                        for j in 0..<featureDimension { w[c * featureDimension + j] = r[j] }
                    }
                }
            }
        }
    }
}
