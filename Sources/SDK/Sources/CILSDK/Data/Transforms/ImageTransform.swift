/// Turns one 8-bit RGB image into a normalised float32 CHW tensor slice: the
/// torchvision pipelines of docs/ALGORITHMS.md §1.6 (`RandomCrop`/`RandomResizedCrop`,
/// flips, jitter, `ToTensor`, `Normalize`).
///
/// Randomness comes only from `rng`, so a transform is reproducible from a seed and
/// independent of the thread that runs it.
public protocol ImageTransform: Sendable {
    /// Output height and width (the output has 3 channels).
    func outputSize(forInputWidth width: Int, height: Int) throws -> (height: Int, width: Int)
    /// Writes the transformed image into `out` (`3 * H * W` floats, CHW).
    func apply(_ image: ImageView, into out: UnsafeMutableBufferPointer<Float>, rng: inout RandomGenerator) throws
}

/// Which family of transforms a dataset uses (docs/ALGORITHMS.md §1.6).
public enum Preprocessing: String, Sendable, Codable {
    /// 32×32 images: RandomCrop(32, padding 4) + flip for training; LUCIR's constants.
    case cifar
    /// Natural images: RandomResizedCrop(224) + flip + brightness jitter for
    /// training, Resize(256) + CenterCrop(224) for testing; ImageNet constants.
    case imagenet

    /// The training transform (augmentation on).
    public var train: any ImageTransform {
        switch self {
        case .cifar: return CIFARTransform(augment: true)
        case .imagenet: return ImageNetTransform(augment: true)
        }
    }

    /// The test / evaluation transform (deterministic).
    public var test: any ImageTransform {
        switch self {
        case .cifar: return CIFARTransform(augment: false)
        case .imagenet: return ImageNetTransform(augment: false)
        }
    }
}
