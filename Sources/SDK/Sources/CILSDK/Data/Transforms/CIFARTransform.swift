/// The CIFAR transforms of the original code (docs/ALGORITHMS.md §1.6):
/// - train: `RandomCrop(32, padding=4)` with zero padding, `RandomHorizontalFlip(0.5)`,
///   `ToTensor`, `Normalize(LUCIR constants)`;
/// - test: `ToTensor`, `Normalize`.
///
/// PODNet's code adds `ColorJitter(brightness=63/255)` after the flip and uses its own
/// constants (`brightness`, `normalization`; docs/ALGORITHMS.md §6.3).
///
/// Zero padding pads the 8-bit image with 0 before normalisation, so a padded pixel
/// becomes `(0 - mean) / std`, not 0, exactly as torchvision does on a PIL image. The
/// brightness change is torchvision 0.4's on a PIL image, i.e. PIL's
/// `ImageEnhance.Brightness`: a factor f uniform in [max(0, 1 − b), 1 + b], each 8-bit
/// value v becoming trunc(min(v·f, 255)) in float32 (a padded 0 stays 0). On [0, 1]
/// that is the tensor rule clamp(x·f, 0, 1) rounded down to the 8-bit grid.
public struct CIFARTransform: ImageTransform {
    /// Whether to crop and flip at random (training) or not (test).
    public let augment: Bool
    /// Output side (32).
    public let size: Int
    /// Zero padding on every side before the random crop (4).
    public let padding: Int
    /// Probability of a horizontal flip (0.5).
    public let flipProbability: Float
    /// ColorJitter's brightness b, or nil for no jitter (the MANets code).
    public let brightness: Double?
    public let normalization: Normalization
    private let table: [Float]

    public init(augment: Bool, size: Int = 32, padding: Int = 4, flipProbability: Float = 0.5,
                brightness: Double? = nil, normalization: Normalization = .lucirCIFAR) {
        precondition(brightness.map { $0 >= 0 } ?? true, "brightness must not be negative")
        self.augment = augment
        self.size = size
        self.padding = padding
        self.flipProbability = flipProbability
        self.brightness = brightness
        self.normalization = normalization
        self.table = normalization.lookupTable
    }

    /// The random choices for one image: the crop's top-left corner in the padded
    /// image (each uniform in `0...padded - size`, torchvision's
    /// `randint(0, h - th + 1)`), whether to flip, and the brightness factor (1: none).
    public struct Parameters: Sendable, Equatable {
        public var top: Int
        public var left: Int
        public var flip: Bool
        public var brightnessFactor: Float

        public init(top: Int, left: Int, flip: Bool, brightnessFactor: Float = 1) {
            self.top = top
            self.left = left
            self.flip = flip
            self.brightnessFactor = brightnessFactor
        }
    }

    /// Draws the crop corner (row, then column), the flip, then (with `brightness`)
    /// the brightness factor, in torchvision's order (RandomCrop,
    /// RandomHorizontalFlip, ColorJitter). Without `brightness` nothing more is drawn,
    /// so the MANets pipeline's random stream is unchanged.
    public func sampleParameters(width: Int, height: Int, rng: inout RandomGenerator) -> Parameters {
        let top = rng.nextInt(below: height + 2 * padding - size + 1)
        let left = rng.nextInt(below: width + 2 * padding - size + 1)
        let flip = rng.nextUnitFloat() < flipProbability
        var factor: Float = 1
        if let b = brightness { factor = Float(uniform(max(0, 1 - b), 1 + b, &rng)) }
        return Parameters(top: top, left: left, flip: flip, brightnessFactor: factor)
    }

    public func outputSize(forInputWidth width: Int, height: Int) throws -> (height: Int, width: Int) {
        if augment {
            guard width + 2 * padding >= size, height + 2 * padding >= size else {
                throw DataError.badImageSize(what: "an image for RandomCrop(\(size), padding=\(padding))", width: width, height: height,
                                             expected: "at least \(size - 2 * padding)x\(size - 2 * padding)")
            }
            return (size, size)
        }
        guard width == size, height == size else {
            throw DataError.badImageSize(what: "a CIFAR-style image", width: width, height: height, expected: "\(size)x\(size)")
        }
        return (size, size)
    }

    public func apply(_ image: ImageView, into out: UnsafeMutableBufferPointer<Float>, rng: inout RandomGenerator) throws {
        _ = try outputSize(forInputWidth: image.width, height: image.height)
        if augment {
            let p = sampleParameters(width: image.width, height: image.height, rng: &rng)
            apply(image, parameters: p, into: out)
        } else {
            apply(image, parameters: Parameters(top: padding, left: padding, flip: false), into: out)
        }
    }

    /// The deterministic part: crop at `parameters` from the zero-padded image, flip
    /// if asked, change the brightness, normalise. `Parameters(top: padding, left:
    /// padding, flip: false)` on a `size`×`size` image is the test transform.
    public func apply(_ image: ImageView, parameters p: Parameters, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= 3 * size * size, "output needs \(3 * size * size) floats")
        let w = image.width, h = image.height
        table.withUnsafeBufferPointer { table in
            for c in 0 ..< 3 {
                let lut = table.baseAddress! + c * 256
                let zero = lut[0]
                for y in 0 ..< size {
                    let sy = p.top + y - padding
                    let row = out.baseAddress! + (c * size + y) * size
                    if sy < 0 || sy >= h {
                        for x in 0 ..< size { row[x] = zero }
                        continue
                    }
                    let src = image.pixels.baseAddress! + (c * h + sy) * w
                    if p.brightnessFactor == 1 {
                        for x in 0 ..< size {
                            let ox = p.flip ? size - 1 - x : x
                            let sx = p.left + ox - padding
                            row[x] = (sx < 0 || sx >= w) ? zero : lut[Int(src[sx])]
                        }
                    } else {
                        for x in 0 ..< size {
                            let ox = p.flip ? size - 1 - x : x
                            let sx = p.left + ox - padding
                            row[x] = (sx < 0 || sx >= w) ? zero : lut[Self.brightened(src[sx], by: p.brightnessFactor)]
                        }
                    }
                }
            }
        }
    }

    /// PIL's `ImageEnhance.Brightness` on one 8-bit value: trunc(min(v·f, 255)), in
    /// float32 as PIL's `ImagingBlend` computes it.
    @inline(__always)
    public static func brightened(_ v: UInt8, by factor: Float) -> Int {
        let t = Float(v) * factor
        return t >= 255 ? 255 : Int(t)
    }
}
