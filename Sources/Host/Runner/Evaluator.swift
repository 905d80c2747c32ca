import CILSDK
import Foundation

/// Evaluation at the end of a phase (SPEC.md 6): CNN accuracy (head argmax over
/// the seen classes) and NME accuracy (nearest exemplar mean, class means from the
/// current model's features of each class's exemplars and of their "flipped"
/// copies), on the test images of all seen classes and of the phase-0 classes.
///
/// The flipped copy: `faithful` reproduces the original's RGB→BGR channel swap on
/// CIFAR-style data (the uint8 image's channels reversed, then normalised) and no
/// flip on ImageNet-style data; `corrected` mirrors the image horizontally.
struct Evaluator {
    let dataset: ImageDataset
    let order: ClassOrder
    let mode: FidelityMode
    let batchSize: Int

    var normalization: Normalization {
        dataset.preprocessing == .cifar ? .lucirCIFAR : .imagenet
    }

    /// Pooled features [n, D] and logits of the images at `positions` of `split`
    /// (test transform, evaluation mode, no gradient).
    func outputs(of network: AggregatedNetwork, split: ImageSplit, positions: [Int],
                 keepImages: Bool = false) throws -> (features: [[Float]], logits: [[Float]], images: [Tensor]) {
        let loader = BatchLoader(split: split, transform: dataset.preprocessing.test)
        var features: [[Float]] = [], logits: [[Float]] = [], images: [Tensor] = []
        var rng = RandomGenerator(seed: 0)
        try withNoGrad {
            for chunk in BatchSampler.sequential(positions, batchSize: batchSize) {
                let batch = try loader.batch(chunk, rng: &rng)
                let out = network.forward(batch.images)
                features += rows(out.features)
                logits += rows(out.logits)
                if keepImages { images.append(batch.images) }
            }
        }
        return (features, logits, images)
    }

    /// Features of the flipped copies of already-transformed test images.
    func flippedFeatures(of network: AggregatedNetwork, images: [Tensor]) -> [[Float]] {
        withNoGrad {
            images.flatMap { batch -> [[Float]] in
                guard let flipped = flip(batch) else { return rows(network.forward(batch).features) }
                return rows(network.forward(flipped).features)
            }
        }
    }

    /// The flipped batch, or nil when the mode keeps the image (faithful ImageNet).
    func flip(_ batch: Tensor) -> Tensor? {
        let (n, c, h, w) = (batch.shape[0], batch.shape[1], batch.shape[2], batch.shape[3])
        let out = Tensor(uninitializedShape: batch.shape)
        let src = batch.scalars
        switch (mode, dataset.preprocessing) {
        case (.faithful, .imagenet):
            return nil
        case (.faithful, _):
            // Reverse the raw channels: undo the normalisation of channel 2−k, apply
            // that of channel k.
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
        case (.corrected, _):
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

    /// Unit-norm class means from exemplar features and their flipped copies:
    /// normalize(½(mean of normalized f + mean of normalized f_flipped)).
    static func classMean(_ features: [[Float]], _ flipped: [[Float]]) -> [Float] {
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

    struct Accuracies {
        var cnn: Double, nme: Double, cnnBase: Double, nmeBase: Double
    }

    /// Accuracies after a phase with `seen` classes, `base` of them from phase 0,
    /// and the exemplar positions (training split) of every seen mapped label.
    func evaluate(_ network: AggregatedNetwork, seen: Int, base: Int, exemplars: [[Int]],
                  testPositions: [Int]) throws -> Accuracies {
        network.setTraining(false)
        defer { network.setTraining(true) }
        var means: [[Float]] = []
        for label in 0..<seen {
            let out = try outputs(of: network, split: dataset.train, positions: exemplars[label], keepImages: true)
            means.append(Self.classMean(out.features, flippedFeatures(of: network, images: out.images)))
        }
        let test = try outputs(of: network, split: dataset.test, positions: testPositions)
        let labels = testPositions.map { order.mappedLabels[dataset.test.labels[$0]] }
        var cnn = 0, nme = 0, cnnBase = 0, nmeBase = 0, baseCount = 0
        for (i, y) in labels.enumerated() {
            let logits = test.logits[i]
            let cnnPrediction = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
            let f = test.features[i]
            var best = 0, bestScore = -Float.infinity
            for (c, m) in means.enumerated() {
                var dot: Float = 0
                for j in 0..<f.count { dot += f[j] * m[j] }
                if dot > bestScore { bestScore = dot; best = c }
            }
            if cnnPrediction == y { cnn += 1 }
            if best == y { nme += 1 }
            if y < base {
                baseCount += 1
                if cnnPrediction == y { cnnBase += 1 }
                if best == y { nmeBase += 1 }
            }
        }
        let n = Double(max(labels.count, 1)), nb = Double(max(baseCount, 1))
        return Accuracies(cnn: Double(cnn) / n, nme: Double(nme) / n, cnnBase: Double(cnnBase) / nb, nmeBase: Double(nmeBase) / nb)
    }
}

/// The rows of a 2-D tensor.
func rows(_ t: Tensor) -> [[Float]] {
    let values = t.scalars, d = t.shape[1]
    return (0..<t.shape[0]).map { Array(values[($0 * d)..<(($0 + 1) * d)]) }
}
