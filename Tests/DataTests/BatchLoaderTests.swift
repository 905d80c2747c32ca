import CILSDK
import Foundation
import RealCIFARSupport
import Testing

/// Batches: float32 NCHW of the requested images, labels, seeded augmentation that
/// does not depend on the number of worker threads, and epoch sampling.
@Suite("Batch loading")
struct BatchLoaderTests {
    @Test func cifarBatchIsNormalisedNCHW() throws {
        let dir = try TestDirectory()
        let folder = try CIFARFixture.write(in: dir, train: [4, 8, 15, 16, 23, 42], test: [1])
        let data = try CIFAR100.load(directory: folder)
        let loader = BatchLoader(split: data.train, transform: data.preprocessing.test)
        var rng = RandomGenerator(seed: 0)
        let batch = try loader.batch([5, 0, 2], rng: &rng)
        #expect(batch.images.shape == [3, 3, 32, 32])
        #expect(batch.labels == [42, 4, 15] && batch.indices == [5, 0, 2])
        let values = batch.images.scalars
        let planes = CIFARFixture.planes(seed: 5)
        let n = Normalization.lucirCIFAR
        for k in stride(from: 0, to: 3072, by: 97) {
            let c = k / 1024
            #expect(values[k] == (Float(planes[k]) / 255 - n.mean[c]) / n.std[c])
        }
        #expect(data.train.indices(ofClasses: [42, 15]) == [2, 5])
    }

    @Test func augmentationIsSeededAndIndependentOfWorkers() throws {
        let data = try SyntheticDataset.make(.init(numClasses: 4, imagesPerClass: 20, testImagesPerClass: 2, seed: 5))
        let one = BatchLoader(split: data.train, transform: data.preprocessing.train, workers: 1)
        let four = BatchLoader(split: data.train, transform: data.preprocessing.train, workers: 4)
        let idx = Array(0 ..< 40)
        var a = RandomGenerator(seed: 77), b = RandomGenerator(seed: 77), c = RandomGenerator(seed: 78)
        let x = try one.batch(idx, rng: &a).images.scalars
        #expect(x == (try four.batch(idx, rng: &b).images.scalars))
        #expect(x != (try four.batch(idx, rng: &c).images.scalars))
        // The stream moved on: a second batch from `a` differs from the first.
        #expect(x != (try one.batch(idx, rng: &a).images.scalars))
    }

    @Test func badIndexIsAnError() throws {
        let data = try SyntheticDataset.make(.init(numClasses: 2, imagesPerClass: 2, testImagesPerClass: 1, seed: 5))
        var rng = RandomGenerator(seed: 1)
        #expect(throws: DataError.self) { try BatchLoader(split: data.train, transform: data.preprocessing.test).batch([4], rng: &rng) }
    }

    @Test func samplerCoversEveryPositionOnce() {
        var rng = RandomGenerator(seed: 3)
        let batches = BatchSampler.shuffled(Array(100 ..< 230), batchSize: 32, rng: &rng)
        #expect(batches.map(\.count) == [32, 32, 32, 32, 2])
        #expect(batches.flatMap { $0 }.sorted() == Array(100 ..< 230))
        #expect(batches.flatMap { $0 } != Array(100 ..< 230))
        #expect(BatchSampler.sequential([1, 2, 3], batchSize: 2) == [[1, 2], [3]])
    }

    /// Timing on the real CIFAR-100 files (`RealCIFAR`: CIL_DATA): load train.bin and
    /// make an augmented batch of 128 (printed, not asserted beyond a generous bound).
    @Test(.enabled(if: RealCIFAR.enabled, RealCIFAR.skipNote))
    func realCIFARTiming() throws {
        let folder = try RealCIFAR.requireFolder()
        var start = Date()
        let train = try CIFAR100.readSplit(folder + "/train.bin", name: "train")
        let load = Date().timeIntervalSince(start)
        let loader = BatchLoader(split: train, transform: CIFARTransform(augment: true))
        var rng = RandomGenerator(seed: 1)
        let epoch = BatchSampler.shuffled(Array(0 ..< train.count), batchSize: 128, rng: &rng)
        _ = try loader.batch(epoch[0], rng: &rng)
        start = Date()
        for b in epoch.prefix(50) { _ = try loader.batch(b, rng: &rng) }
        let perBatch = Date().timeIntervalSince(start) / 50
        print(String(format: "CIFAR-100 train.bin load %.3f s; augmented batch of 128: %.2f ms", load, perBatch * 1000))
        #expect(perBatch < 0.5)
    }
}
