import CILSDK
import Foundation

/// Evaluation at the end of a phase (docs/ALGORITHMS.md §7): CNN accuracy (head argmax
/// over the seen classes) and NME accuracy (nearest exemplar mean, class means from the
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
    /// Where the class means' and the test pass's time go, if anywhere.
    var clock: PhaseClock? = nil

    var flip: ExemplarFlip { ExemplarFlip.of(mode: mode, preprocessing: dataset.preprocessing) }

    /// Pooled features [n, D] and logits of the images at `positions` of `split`
    /// (test transform, evaluation mode, no gradient).
    func outputs(of network: AggregatedNetwork, split: ImageSplit, positions: [Int],
                 keepImages: Bool = false) throws -> (features: [[Float]], logits: [[Float]], images: [Tensor]) {
        let loader = BatchLoader(split: split, transform: dataset.preprocessing.test)
        var features: [[Float]] = [], logits: [[Float]] = [], images: [Tensor] = []
        var rng = RandomGenerator(seed: 0)
        try withNoGrad {
            for chunk in BatchSampler.sequential(positions, batchSize: batchSize) {
                let batch = try measure(.dataLoading) { try loader.batch(chunk, rng: &rng) }
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
            images.flatMap { batch -> [[Float]] in rows(network.forward(flip.apply(batch) ?? batch).features) }
        }
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
        try measure(.classMeans) {
            for label in 0..<seen {
                let out = try outputs(of: network, split: dataset.train, positions: exemplars[label], keepImages: true)
                means.append(NearestMeanOfExemplars.classMean(out.features, flippedFeatures(of: network, images: out.images)))
            }
        }
        return try measure(.evaluation) { try accuracies(network, means: means, base: base, testPositions: testPositions) }
    }

    /// CNN and NME accuracies on the test images at `testPositions`, with the class means `means`.
    func accuracies(_ network: AggregatedNetwork, means: [[Float]], base: Int, testPositions: [Int]) throws -> Accuracies {
        let test = try outputs(of: network, split: dataset.test, positions: testPositions)
        let labels = testPositions.map { order.mappedLabels[dataset.test.labels[$0]] }
        var cnn = 0, nme = 0, cnnBase = 0, nmeBase = 0, baseCount = 0
        for (i, y) in labels.enumerated() {
            let logits = test.logits[i]
            let cnnPrediction = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
            let best = NearestMeanOfExemplars.predict(test.features[i], means: means)
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

extension Evaluator {
    /// `body`, its time counted as `part` by the clock when there is one.
    func measure<T>(_ part: PhaseClock.Part, _ body: () throws -> T) rethrows -> T {
        guard let clock else { return try body() }
        return try clock.measure(part, body)
    }
}

/// The rows of a 2-D tensor.
func rows(_ t: Tensor) -> [[Float]] {
    let values = t.scalars, d = t.shape[1]
    return (0..<t.shape[0]).map { Array(values[($0 * d)..<(($0 + 1) * d)]) }
}
