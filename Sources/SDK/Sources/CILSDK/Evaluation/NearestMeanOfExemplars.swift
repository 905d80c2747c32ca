/// The nearest-mean-of-exemplars classifier (NME, iCaRL's "Proto";
/// docs/ALGORITHMS.md §7):
/// - a class mean is normalize(½·(mean of the L2-normalised features of the class's
///   exemplars + mean of the L2-normalised features of their "flipped" copies));
/// - a test feature (not normalised) is predicted as the class whose unit-norm mean
///   has the largest dot product with it, which is the argmin of the squared
///   Euclidean distance the original code computes.
///
/// Sums run in float64; the means are returned as float32.
public enum NearestMeanOfExemplars {
    /// The unit-norm class mean from exemplar features and their flipped copies'
    /// features (rows of equal length). A zero row or mean stays zero.
    public static func classMean(_ features: [[Float]], _ flipped: [[Float]]) -> [Float] {
        let d = features.first?.count ?? 0
        var acc = [Double](repeating: 0, count: d)
        for set in [features, flipped] {
            for f in set {
                let norm = max(f.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), 1e-12)
                for j in 0..<d { acc[j] += Double(f[j]) / norm / Double(set.count) / 2 }
            }
        }
        let norm = max(acc.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return acc.map { Float($0 / norm) }
    }

    /// The index of the mean with the largest dot product with `feature` (the first
    /// one on ties), i.e. the nearest unit-norm mean.
    public static func predict(_ feature: [Float], means: [[Float]]) -> Int {
        var best = 0, bestScore = -Float.infinity
        for (c, m) in means.enumerated() {
            var dot: Float = 0
            for j in 0..<feature.count { dot += feature[j] * m[j] }
            if dot > bestScore { bestScore = dot; best = c }
        }
        return best
    }
}

/// How the "flipped" copy of an exemplar is made for the NME class means.
///
/// The MANets code reverses the last axis of an N×H×W×C uint8 array on CIFAR, which
/// swaps RGB to BGR instead of mirroring the image, and uses no flip at all on
/// ImageNet; PODNet's code mirrors the image (its loader's "flip" mode,
/// `RandomHorizontalFlip(p=1)` before the test transform). `faithful` follows the
/// pipeline's code base; `corrected` mirrors every image horizontally.
public enum ExemplarFlip: Sendable, Equatable {
    /// The channel order reversed (RGB→BGR) on the raw image, then normalised.
    case channelSwap(Normalization)
    /// No flip: the "flipped" features are the features themselves.
    case none
    /// A horizontal mirror image.
    case horizontal

    /// The flip a run uses for `preprocessing` under `mode`.
    public static func of(mode: FidelityMode, preprocessing: Preprocessing) -> ExemplarFlip {
        switch (mode, preprocessing) {
        case (.faithful, .cifar): return .channelSwap(.lucirCIFAR)
        case (.faithful, .imagenet): return .none
        case (.faithful, .podnetCIFAR), (.faithful, .podnetImageNet): return .horizontal
        case (.corrected, _): return .horizontal
        }
    }

    /// The flipped copy of a normalised batch [N, C, H, W], or nil for `.none`.
    public func apply(_ batch: Tensor) -> Tensor? {
        let (n, c, h, w) = (batch.shape[0], batch.shape[1], batch.shape[2], batch.shape[3])
        let src = batch.scalars
        let out = Tensor(uninitializedShape: batch.shape)
        switch self {
        case .none:
            return nil
        case .channelSwap(let normalization):
            // Undo the normalisation of channel c−1−k, apply that of channel k.
            let m = normalization.mean, s = normalization.std
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<n {
                    for k in 0..<c {
                        let from = c - 1 - k
                        for p in 0..<(h * w) {
                            let raw = src[((i * c + from) * h * w) + p] * s[from] + m[from]
                            o[((i * c + k) * h * w) + p] = (raw - m[k]) / s[k]
                        }
                    }
                }
            }
        case .horizontal:
            out.withUnsafeMutableBufferPointer { o in
                for plane in 0..<(n * c) {
                    for y in 0..<h {
                        for x in 0..<w { o[plane * h * w + y * w + x] = src[plane * h * w + y * w + (w - 1 - x)] }
                    }
                }
            }
        }
        return out
    }
}
