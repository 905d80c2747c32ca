/// PODNet's local-similarity classifier (LSC; docs/ALGORITHMS.md §6.3, PODNet's
/// `CosineClassifier` with `neg_stable_cosine_distance`): K proxies per class; the
/// similarity of a feature to a proxy is −max(‖f̂ − ŵ‖², 0) = −(2 − 2cos), and a
/// class scores Σ_k softmax_k(γ·sim_k)·sim_k (γ = 1 here). A learned factor `scale`
/// (PODNet's `FactorScalar`, initially 1) is not applied to the logits: it is the
/// NCA loss's scale.
///
/// Proxies are class-major: rows c·K ..< (c+1)·K belong to class c. Old proxies are
/// frozen; `expand(by:)` appends K rows per new class drawn N(0, 1/D) (Kaiming,
/// linear), normally replaced by k-means imprinting (`imprint`).
public final class LocalSimilarityHead: ClassifierHead {
    public private(set) var oldProxies: Tensor?
    public private(set) var newProxies: Tensor
    /// The NCA scale (shape [1]).
    public let scale: Tensor
    public let proxiesPerClass: Int
    public let gamma: Float
    public let featureDimension: Int
    public var isTraining = true

    public init(featureDimension: Int, classCount: Int, proxiesPerClass: Int = 10, gamma: Float = 1,
                rng: inout RandomGenerator) {
        self.featureDimension = featureDimension
        self.proxiesPerClass = proxiesPerClass
        self.gamma = gamma
        newProxies = Self.freshProxies(classCount * proxiesPerClass, featureDimension, rng: &rng)
        scale = Tensor(shape: [1], repeating: 1, requiresGrad: true)
    }

    private init(oldProxies: Tensor?, newProxies: Tensor, scale: Tensor, proxiesPerClass: Int, gamma: Float, featureDimension: Int) {
        self.oldProxies = oldProxies
        self.newProxies = newProxies
        self.scale = scale
        self.proxiesPerClass = proxiesPerClass
        self.gamma = gamma
        self.featureDimension = featureDimension
    }

    static func freshProxies(_ rows: Int, _ d: Int, rng: inout RandomGenerator) -> Tensor {
        let w = Initializers.normal([rows, d], std: 1 / Float(d).squareRoot(), rng: &rng)
        w.requiresGrad = true
        return w
    }

    public var classCount: Int { ((oldProxies?.shape[0] ?? 0) + newProxies.shape[0]) / proxiesPerClass }

    public var localParameters: [(String, Tensor)] {
        (oldProxies.map { [("old_weights", $0)] } ?? []) + [("new_weights", newProxies), ("scale", scale)]
    }

    public var parameterRoles: [(tensor: Tensor, role: HeadParameterRole)] {
        (oldProxies.map { [($0, .oldClasses)] } ?? []) + [(newProxies, .newClasses), (scale, .shared)]
    }

    /// All proxies [C·K, D] (old then new).
    public var proxies: Tensor {
        oldProxies.map { Tensor.concatenate([$0, newProxies], axis: 0) } ?? newProxies
    }

    /// features [B, D] -> class scores [B, C]; extras["similarities"]: the proxy
    /// similarities [B, C·K].
    public func forward(_ features: Tensor) -> HeadOutput {
        let f = features.l2Normalized(axis: 1)
        let w = proxies.l2Normalized(axis: 1)
        let b = features.shape[0], rows = w.shape[0]
        let ff = (f * f).sum(axes: [1], keepDims: true)
        let ww = (w * w).sum(axes: [1]).reshaped([1, rows])
        let distance = (ff + ww - 2 * Tensor.matmul(f, w, transposeB: true)).clamped(min: 0)
        let similarities = -distance
        let grouped = similarities.reshaped([b, rows / proxiesPerClass, proxiesPerClass])
        let attention = (grouped * gamma).softmax(axis: 2)
        let logits = (attention * grouped).sum(axes: [2])
        return HeadOutput(logits: logits, extras: ["similarities": similarities])
    }

    public func expand(by count: Int, rng: inout RandomGenerator) {
        let merged = withNoGrad { proxies.copy() }
        merged.requiresGrad = false
        oldProxies = merged
        newProxies = Self.freshProxies(count * proxiesPerClass, featureDimension, rng: &rng)
    }

    public func cloned() -> any ClassifierHead {
        let c = LocalSimilarityHead(oldProxies: oldProxies?.copy(), newProxies: newProxies.copy(requiresGrad: newProxies.requiresGrad),
                                    scale: scale.copy(requiresGrad: scale.requiresGrad), proxiesPerClass: proxiesPerClass,
                                    gamma: gamma, featureDimension: featureDimension)
        c.isTraining = isTraining
        return c
    }

    /// PODNet's imprinting of the new classes: for each, k-means (K clusters) on its
    /// L2-normalised features [n, D]; the centres times the mean L2 norm of the old
    /// proxies (1 if there are none) become its proxies.
    public func imprint(newClassFeatures: [Tensor], seed: UInt64) {
        let newClasses = newProxies.shape[0] / proxiesPerClass
        precondition(newClassFeatures.count == newClasses,
                     "imprint: \(newClassFeatures.count) feature sets for \(newClasses) new classes")
        withNoGrad {
            let avgNorm = oldProxies.map { $0.l2Norm(axis: 1).mean().item } ?? 1
            var rng = RandomGenerator(seed: seed)
            for (c, features) in newClassFeatures.enumerated() {
                let normalized = features.l2Normalized(axis: 1)
                let centres = KMeans.fit(normalized, clusters: proxiesPerClass, rng: &rng)
                newProxies.withUnsafeMutableBufferPointer { w in
                    centres.withUnsafeBufferPointer { m in
                        for i in 0..<(proxiesPerClass * featureDimension) {
                            w[c * proxiesPerClass * featureDimension + i] = m[i] * avgNorm
                        }
                    }
                }
            }
        }
    }
}
