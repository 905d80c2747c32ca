import CILSDK
import Foundation
import Testing

/// The synthetic dataset: CIFAR shape, seeded, interleaved classes, learnable.
@Suite("Synthetic dataset")
struct SyntheticDatasetTests {
    static func make(_ classes: Int, _ perClass: Int, test: Int = 10, seed: UInt64 = 1) throws -> ImageDataset {
        try SyntheticDataset.make(.init(numClasses: classes, imagesPerClass: perClass, testImagesPerClass: test, seed: seed))
    }

    @Test func shapeCountsAndOrder() throws {
        let data = try Self.make(7, 12, test: 3)
        #expect(data.name == "synthetic" && data.numClasses == 7 && data.preprocessing == .cifar)
        #expect(data.train.count == 84 && data.test.count == 21)
        #expect(data.train.imagesPerClass(numClasses: 7) == Array(repeating: 12, count: 7))
        #expect(Array(data.train.labels.prefix(9)) == [0, 1, 2, 3, 4, 5, 6, 0, 1])
        let img = try data.train.source.image(at: 5)
        #expect(img.width == 32 && img.height == 32)
        #expect(data.location.contains("synthetic"))
    }

    @Test func seededAndDistinct() throws {
        let a = try Self.make(5, 4, seed: 42), b = try Self.make(5, 4, seed: 42), c = try Self.make(5, 4, seed: 43)
        #expect(try a.train.source.image(at: 3) == b.train.source.image(at: 3))
        #expect(try a.test.source.image(at: 2) == b.test.source.image(at: 2))
        #expect(try a.train.source.image(at: 3) != c.train.source.image(at: 3))
        // Two images of one class differ (noise, shift, contrast).
        #expect(try a.train.source.image(at: 0) != a.train.source.image(at: 5))
    }

    @Test func badSettingsAreErrors() {
        #expect(throws: DataError.invalidSetting(name: "--num-classes", value: "0", expected: "1...10000")) { try Self.make(0, 5) }
        #expect(throws: DataError.invalidSetting(name: "--images-per-class", value: "0", expected: "at least 1")) { try Self.make(3, 0) }
    }

    /// Learnable: a nearest-class-mean classifier on raw pixels (a linear model, far
    /// weaker than a small CNN) beats chance (10%) by a wide margin on held-out images.
    @Test func learnableByANearestMeanClassifier() throws {
        let data = try Self.make(10, 60, test: 30, seed: 1993)
        var means = [[Float]](repeating: [Float](repeating: 0, count: 3072), count: 10)
        for i in 0 ..< data.train.count {
            let img = try data.train.source.image(at: i)
            for k in 0 ..< 3072 { means[data.train.labels[i]][k] += Float(img.pixels[k]) / 60 }
        }
        var correct = 0
        for i in 0 ..< data.test.count {
            let img = try data.test.source.image(at: i)
            let distances = means.map { m in zip(m, img.pixels).reduce(Float(0)) { $0 + ($1.0 - Float($1.1)) * ($1.0 - Float($1.1)) } }
            if distances.firstIndex(of: distances.min()!) == data.test.labels[i] { correct += 1 }
        }
        let accuracy = Double(correct) / Double(data.test.count)
        #expect(accuracy > 0.5, "nearest-mean accuracy \(accuracy)")
    }
}
