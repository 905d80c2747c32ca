/// The CIFAR transforms of the original code (docs/ALGORITHMS.md §1.6):
/// - train: `RandomCrop(32, padding=4)` with zero padding, `RandomHorizontalFlip(0.5)`,
///   `ToTensor`, `Normalize(LUCIR constants)`;
/// - test: `ToTensor`, `Normalize`.
///
/// Zero padding pads the 8-bit image with 0 before normalisation, so a padded pixel
/// becomes `(0 - mean) / std`, not 0, exactly as torchvision does on a PIL image.
public struct CIFARTransform: ImageTransform {
    /// Whether to crop and flip at random (training) or not (test).
    public let augment: Bool
    /// Output side (32).
    public let size: Int
    /// Zero padding on every side before the random crop (4).
    public let padding: Int
    /// Probability of a horizontal flip (0.5).
    public let flipProbability: Float
    public let normalization: Normalization
    private let table: [Float]

    public init(augment: Bool, size: Int = 32, padding: Int = 4, flipProbability: Float = 0.5,
                normalization: Normalization = .lucirCIFAR) {
        self.augment = augment
        self.size = size
        self.padding = padding
        self.flipProbability = flipProbability
        self.normalization = normalization
        self.table = normalization.lookupTable
    }

    /// The random choices for one image: the crop's top-left corner in the padded
    /// image (each uniform in `0...padded - size`, torchvision's
    /// `randint(0, h - th + 1)`) and whether to flip.
    public struct Parameters: Sendable, Equatable {
        public var top: Int
        public var left: Int
        public var flip: Bool

        public init(top: Int, left: Int, flip: Bool) {
            self.top = top
            self.left = left
            self.flip = flip
        }
    }

    /// Draws the crop corner (row, then column) and then the flip, as torchvision
    /// does (RandomCrop runs before RandomHorizontalFlip).
    public func sampleParameters(width: Int, height: Int, rng: inout RandomGenerator) -> Parameters {
        let top = rng.nextInt(below: height + 2 * padding - size + 1)
        let left = rng.nextInt(below: width + 2 * padding - size + 1)
        let flip = rng.nextUnitFloat() < flipProbability
        return Parameters(top: top, left: left, flip: flip)
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
    /// if asked, normalise. `Parameters(top: padding, left: padding, flip: false)` on
    /// a `size`×`size` image is the test transform.
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
                    for x in 0 ..< size {
                        let ox = p.flip ? size - 1 - x : x
                        let sx = p.left + ox - padding
                        row[x] = (sx < 0 || sx >= w) ? zero : lut[Int(src[sx])]
                    }
                }
            }
        }
    }
}
