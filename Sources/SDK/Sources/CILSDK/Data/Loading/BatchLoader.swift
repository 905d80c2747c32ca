/// Makes float32 NCHW batches from positions of one split: each image is read (or
/// decoded), transformed and normalised by `transform`, in parallel over `workers`
/// threads.
///
/// Determinism: `batch(_:rng:)` draws one seed per image from `rng`, in batch
/// order, before any work starts; image k is then transformed with its own
/// generator. The result is the same for any number of workers.
public struct BatchLoader: Sendable {
    public let split: ImageSplit
    public let transform: any ImageTransform
    /// Threads that decode and transform (default: the active CPUs).
    public var workers: Int

    public init(split: ImageSplit, transform: any ImageTransform, workers: Int = Parallel.threads) {
        self.split = split
        self.transform = transform
        self.workers = max(1, workers)
    }

    /// The batch of the images at `indices` (split positions), with the random
    /// choices of the transform drawn from `rng`.
    public func batch(_ indices: [Int], rng: inout RandomGenerator) throws -> Batch {
        let seeds = indices.map { _ in rng.next() }
        return try batch(indices, seeds: seeds)
    }

    /// The batch of the images at `indices`; image k uses `RandomGenerator(seed: seeds[k])`.
    public func batch(_ indices: [Int], seeds: [UInt64]) throws -> Batch {
        precondition(seeds.count == indices.count, "one seed per image")
        guard let first = indices.first else {
            return Batch(images: Tensor(shape: [0, 3, 0, 0], []), labels: [], indices: [])
        }
        for i in indices where i < 0 || i >= split.count {
            throw DataError.invalidSetting(name: "image index", value: String(i), expected: "0..<\(split.count) in the \(split.name) split")
        }
        // Every image of a batch must give the same output size.
        let size = try Self.outputSize(of: first, source: split.source, transform: transform)
        let per = 3 * size.height * size.width
        let images = Tensor(uninitializedShape: [indices.count, 3, size.height, size.width])
        let out = SendableFloatPointer(images.storage.pointer)
        let source = split.source, transform = self.transform, splitName = split.name
        try ConcurrentWork.forEach(indices.count, workers: workers) { k in
            try Self.transformImage(indices[k], seed: seeds[k], source: source, transform: transform, expected: size,
                                    splitName: splitName, into: UnsafeMutableBufferPointer(start: out.pointer + k * per, count: per))
        }
        return Batch(images: images, labels: indices.map { split.labels[$0] }, indices: indices)
    }
}

extension BatchLoader {
    static func outputSize(of index: Int, source: any ImageSource, transform: any ImageTransform) throws -> (height: Int, width: Int) {
        try source.withImage(at: index) { view in
            try transform.outputSize(forInputWidth: view.width, height: view.height)
        }
    }

    /// Reads image `index`, transforms it with `RandomGenerator(seed:)` and writes it to `out`.
    static func transformImage(_ index: Int, seed: UInt64, source: any ImageSource, transform: any ImageTransform,
                               expected: (height: Int, width: Int), splitName: String,
                               into out: UnsafeMutableBufferPointer<Float>) throws {
        var rng = RandomGenerator(seed: seed)
        try source.withImage(at: index) { view in
            let size = try transform.outputSize(forInputWidth: view.width, height: view.height)
            guard size == expected else {
                throw DataError.badImageSize(what: "image \(index) of the \(splitName) split after the transform",
                                             width: size.width, height: size.height,
                                             expected: "\(expected.width)x\(expected.height) like the rest of the batch")
            }
            try transform.apply(view, into: out, rng: &rng)
        }
    }
}

/// A raw pointer handed to worker threads that write disjoint slices of it.
struct SendableFloatPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
