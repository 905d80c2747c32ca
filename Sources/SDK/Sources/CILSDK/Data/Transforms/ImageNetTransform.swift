import Foundation

/// The ImageNet(-Subset) transforms of the original code at HEAD
/// (docs/ALGORITHMS.md §1.6):
/// - train: `RandomResizedCrop(224)` (scale 0.08...1, ratio 3/4...4/3, bilinear),
///   `RandomHorizontalFlip(0.5)`, `ColorJitter(brightness=63/255)`, `ToTensor`,
///   `Normalize(ImageNet constants)`;
/// - test: `Resize(256)` (shorter side to 256, bilinear), `CenterCrop(224)`,
///   `ToTensor`, `Normalize`.
///
/// Geometry and rounding follow torchvision on PIL images (Python's round-half-even
/// where torchvision calls `round`); resizing is PIL's (`BilinearResample`); the
/// brightness change is PIL's `ImageEnhance.Brightness` (`trunc(v * factor)`, clipped
/// to 255). The random numbers come from `RandomGenerator`, not from torch.
public struct ImageNetTransform: ImageTransform {
    public let augment: Bool
    /// Output side (224).
    public let size: Int
    /// Test-time shorter side before the centre crop (256).
    public let resizeSize: Int
    /// RandomResizedCrop's area fraction range.
    public let scale: ClosedRange<Double>
    /// RandomResizedCrop's aspect-ratio range (width / height).
    public let ratio: ClosedRange<Double>
    /// ColorJitter's brightness (63/255): factor uniform in max(0, 1-b)...1+b.
    public let brightness: Double
    public let flipProbability: Double
    public let normalization: Normalization
    private let table: [Float]

    public init(augment: Bool, size: Int = 224, resizeSize: Int = 256,
                scale: ClosedRange<Double> = 0.08 ... 1.0, ratio: ClosedRange<Double> = (3.0 / 4.0) ... (4.0 / 3.0),
                brightness: Double = 63.0 / 255.0, flipProbability: Double = 0.5,
                normalization: Normalization = .imagenet) {
        self.augment = augment
        self.size = size
        self.resizeSize = resizeSize
        self.scale = scale
        self.ratio = ratio
        self.brightness = brightness
        self.flipProbability = flipProbability
        self.normalization = normalization
        self.table = normalization.lookupTable
    }

    /// The random choices for one training image.
    public struct Parameters: Sendable, Equatable {
        /// The crop rectangle in the input (row, column, height, width).
        public var top: Int, left: Int, height: Int, width: Int
        public var flip: Bool
        /// Brightness factor (1 = unchanged).
        public var brightnessFactor: Float

        public init(top: Int, left: Int, height: Int, width: Int, flip: Bool, brightnessFactor: Float) {
            self.top = top
            self.left = left
            self.height = height
            self.width = width
            self.flip = flip
            self.brightnessFactor = brightnessFactor
        }
    }

    /// torchvision's `RandomResizedCrop.get_params`: up to 10 attempts at a random
    /// area and log-uniform aspect ratio that fit, else the centre crop clamped to
    /// the ratio range. Then the flip and the brightness factor.
    public func sampleParameters(width: Int, height: Int, rng: inout RandomGenerator) -> Parameters {
        let area = Double(width * height)
        let logRatio = (log(ratio.lowerBound), log(ratio.upperBound))
        var crop: (Int, Int, Int, Int)?
        for _ in 0 ..< 10 {
            let targetArea = area * uniform(scale.lowerBound, scale.upperBound, &rng)
            let aspect = exp(uniform(logRatio.0, logRatio.1, &rng))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let i = rng.nextInt(below: height - h + 1)
                let j = rng.nextInt(below: width - w + 1)
                crop = (i, j, h, w)
                break
            }
        }
        if crop == nil {
            let inRatio = Double(width) / Double(height)
            var w = width, h = height
            if inRatio < ratio.lowerBound {
                h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
            } else if inRatio > ratio.upperBound {
                w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
            }
            crop = ((height - h) / 2, (width - w) / 2, h, w)
        }
        let flip = uniform(0, 1, &rng) < flipProbability
        let factor = Float(uniform(max(0, 1 - brightness), 1 + brightness, &rng))
        let (i, j, h, w) = crop!
        return Parameters(top: i, left: j, height: h, width: w, flip: flip, brightnessFactor: factor)
    }

    /// torchvision's `Resize(n)` size for an int: the shorter side becomes `n`, the
    /// longer `int(n * long / short)`.
    public func resizedSize(width: Int, height: Int) -> (height: Int, width: Int) {
        if width <= height {
            return (Int(Double(resizeSize) * Double(height) / Double(width)), resizeSize)
        }
        return (resizeSize, Int(Double(resizeSize) * Double(width) / Double(height)))
    }

    public func outputSize(forInputWidth width: Int, height: Int) throws -> (height: Int, width: Int) {
        guard width > 0, height > 0 else {
            throw DataError.badImageSize(what: "an image", width: width, height: height, expected: "a positive size")
        }
        return (size, size)
    }

    public func apply(_ image: ImageView, into out: UnsafeMutableBufferPointer<Float>, rng: inout RandomGenerator) throws {
        _ = try outputSize(forInputWidth: image.width, height: image.height)
        if augment {
            let p = sampleParameters(width: image.width, height: image.height, rng: &rng)
            let crop = BilinearResample.resizedCrop(image, top: p.top, left: p.left, cropHeight: p.height, cropWidth: p.width,
                                                    height: size, width: size)
            crop.withView { write($0, flip: p.flip, brightness: p.brightnessFactor, into: out) }
        } else {
            let (rh, rw) = resizedSize(width: image.width, height: image.height)
            let resized = BilinearResample.resize(image, height: rh, width: rw)
            // CenterCrop: top = int(round((h - size) / 2)), Python rounding.
            let top = Int((Double(rh - size) / 2).rounded(.toNearestOrEven))
            let left = Int((Double(rw - size) / 2).rounded(.toNearestOrEven))
            resized.withView { write($0, top: top, left: left, flip: false, brightness: 1, into: out) }
        }
    }

    /// Copies the `size`×`size` window at (`top`, `left`) of `image` into `out`,
    /// flipping and brightening as asked, and normalises.
    private func write(_ image: ImageView, top: Int = 0, left: Int = 0, flip: Bool, brightness: Float,
                       into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= 3 * size * size, "output needs \(3 * size * size) floats")
        let w = image.width, h = image.height
        table.withUnsafeBufferPointer { table in
            for c in 0 ..< 3 {
                let lut = table.baseAddress! + c * 256
                for y in 0 ..< size {
                    let src = image.pixels.baseAddress! + (c * h + top + y) * w + left
                    let row = out.baseAddress! + (c * size + y) * size
                    for x in 0 ..< size {
                        var v = Int(src[flip ? size - 1 - x : x])
                        if brightness != 1 {
                            let t = Float(v) * brightness
                            v = t >= 255 ? 255 : Int(t)
                        }
                        row[x] = lut[v]
                    }
                }
            }
        }
    }
}

/// Uniform in [a, b) with 53 random bits.
@inline(__always)
func uniform(_ a: Double, _ b: Double, _ rng: inout RandomGenerator) -> Double {
    a + (b - a) * (Double(rng.next() >> 11) * 0x1p-53)
}
