import Foundation

/// A **synthetic** dataset: procedurally generated 32×32 RGB images (the CIFAR
/// shape), seeded and learnable, for tests and for running the workbench on a
/// machine without real data. It is not a benchmark; numbers on it say nothing
/// about CIFAR or ImageNet.
///
/// Generation: every class gets, from the seed, a base colour and two coloured
/// sinusoidal gratings (frequency, orientation, phase, per-channel amplitude),
/// rendered as a 40×40 texture. An image is a random 32×32 window of its class's
/// texture (translation), with random contrast (0.75...1.25) and brightness shift
/// (±16), plus Gaussian pixel noise (σ = 24), rounded and clamped to 0...255. A
/// small convolutional net separates the classes well above chance; the images of a
/// class still vary. Images of the classes are interleaved (image i of a split has
/// class i mod numClasses), so nothing may assume grouped records.
///
/// Same seed and sizes → the same bytes on this platform (the images use `sin`,
/// whose last bit may differ between C libraries).
public enum SyntheticDataset {
    public static let imageSide = 32
    static let textureSide = 40

    /// The settings, checked by `make`.
    public struct Settings: Sendable, Equatable {
        public var numClasses: Int
        public var imagesPerClass: Int
        public var testImagesPerClass: Int
        public var seed: UInt64

        public init(numClasses: Int = 100, imagesPerClass: Int = 500, testImagesPerClass: Int = 100, seed: UInt64 = 1993) {
            self.numClasses = numClasses
            self.imagesPerClass = imagesPerClass
            self.testImagesPerClass = testImagesPerClass
            self.seed = seed
        }
    }

    /// Generates the dataset in parallel over the CPUs (about 2.5 s for 100 × 600 images on 2 cores).
    public static func make(_ settings: Settings) throws -> ImageDataset {
        guard (1 ... 10_000).contains(settings.numClasses) else {
            throw DataError.invalidSetting(name: "--num-classes", value: String(settings.numClasses), expected: "1...10000")
        }
        guard settings.imagesPerClass >= 1 else {
            throw DataError.invalidSetting(name: "--images-per-class", value: String(settings.imagesPerClass), expected: "at least 1")
        }
        guard settings.testImagesPerClass >= 1 else {
            throw DataError.invalidSetting(name: "--test-images-per-class", value: String(settings.testImagesPerClass), expected: "at least 1")
        }
        let total = settings.numClasses * (settings.imagesPerClass + settings.testImagesPerClass)
        guard total <= 2_000_000 else {
            throw DataError.invalidSetting(name: "synthetic size", value: "\(total) images",
                                           expected: "at most 2,000,000 images (6 GB); lower --num-classes or --images-per-class")
        }
        let textures = (0 ..< settings.numClasses).map { texture(forClass: $0, seed: settings.seed) }
        let train = split("train", perClass: settings.imagesPerClass, textures: textures, settings: settings, stream: 1)
        let test = split("test", perClass: settings.testImagesPerClass, textures: textures, settings: settings, stream: 2)
        let names = (0 ..< settings.numClasses).map { String(format: "synthetic-%03d", $0) }
        return ImageDataset(name: "synthetic", classNames: names, train: train, test: test, preprocessing: .cifar,
                            location: "synthetic (seed \(settings.seed), \(settings.numClasses) classes, \(settings.imagesPerClass) train + \(settings.testImagesPerClass) test images per class)")
    }

    /// The class texture: 3 planes of `textureSide`² floats in 0...255 (before noise).
    static func texture(forClass c: Int, seed: UInt64) -> [Float] {
        var rng = RandomGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(c) &* 0xD1B5_4A32_D192_ED03 &+ 0x5EED)
        let side = textureSide
        let base = (0 ..< 3).map { _ in 70 + 115 * rng.nextUnitFloat() }
        struct Grating { var fx: Float, fy: Float, phase: Float, amp: [Float] }
        let gratings = (0 ..< 2).map { _ -> Grating in
            let freq = 1.5 + 3 * rng.nextUnitFloat()                 // cycles per 32 pixels
            let angle = Float.pi * rng.nextUnitFloat()
            let k = 2 * Float.pi * freq / Float(imageSide)
            return Grating(fx: k * cos(angle), fy: k * sin(angle), phase: 2 * Float.pi * rng.nextUnitFloat(),
                           amp: (0 ..< 3).map { _ in 90 * rng.nextUnitFloat() - 45 })
        }
        var t = [Float](repeating: 0, count: 3 * side * side)
        for y in 0 ..< side {
            for x in 0 ..< side {
                let waves = gratings.map { sin($0.fx * Float(x) + $0.fy * Float(y) + $0.phase) }
                for ch in 0 ..< 3 {
                    var v = base[ch]
                    for (g, wv) in zip(gratings, waves) { v += g.amp[ch] * wv }
                    t[(ch * side + y) * side + x] = v
                }
            }
        }
        return t
    }

    static func split(_ name: String, perClass: Int, textures: [[Float]], settings: Settings, stream: UInt64) -> ImageSplit {
        let n = settings.numClasses * perClass
        let per = 3 * imageSide * imageSide
        var bytes = [UInt8](repeating: 0, count: n * per)
        let labels = (0 ..< n).map { $0 % settings.numClasses }
        bytes.withUnsafeMutableBufferPointer { buffer in
            let out = SendableBytePointer(buffer.baseAddress!)
            let workers = max(1, min(Parallel.threads, n / 64 + 1))
            // Rendering cannot fail.
            try? ConcurrentWork.forEach(n, workers: workers) { i in
                render(image: i, label: labels[i], texture: textures[labels[i]], seed: settings.seed, stream: stream,
                       into: out.pointer + i * per)
            }
        }
        let source = PackedImageSource(bytes: bytes, count: n, width: imageSide, height: imageSide)
        return ImageSplit(name: name, source: source, labels: labels, origin: "synthetic \(name) split")
    }

    static func render(image i: Int, label: Int, texture: [Float], seed: UInt64, stream: UInt64,
                       into out: UnsafeMutablePointer<UInt8>) {
        var rng = RandomGenerator(seed: seed ^ (stream << 56) ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15))
        let side = textureSide, s = imageSide
        let dy = rng.nextInt(below: side - s + 1), dx = rng.nextInt(below: side - s + 1)
        let contrast = 0.75 + 0.5 * rng.nextUnitFloat()
        let shift = 32 * rng.nextUnitFloat() - 16
        for ch in 0 ..< 3 {
            for y in 0 ..< s {
                for x in 0 ..< s {
                    let t = texture[(ch * side + y + dy) * side + x + dx]
                    let v = 128 + contrast * (t - 128) + shift + 24 * rng.nextNormal()
                    out[(ch * s + y) * s + x] = UInt8(min(255, max(0, v.rounded())))
                }
            }
        }
    }
}

/// A raw byte pointer handed to worker threads that write disjoint slices of it.
struct SendableBytePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>
    init(_ pointer: UnsafeMutablePointer<UInt8>) { self.pointer = pointer }
}
