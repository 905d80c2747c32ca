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

/// The data pipeline of an original code base (docs/ALGORITHMS.md §1.6, §6.3): its
/// training and test transforms and how it makes the "flipped" exemplar copies of the
/// NME class means (`ExemplarFlip.of`). A dataset comes with the MANets code's
/// pipeline for its family; a baseline may ask for its own code's
/// (`TrainingPolicy.preprocessing`), of the same family.
public enum Preprocessing: String, Sendable, Codable, CaseIterable {
    /// 32×32 images, the MANets code: RandomCrop(32, padding 4) + flip for training;
    /// LUCIR's constants.
    case cifar
    /// Natural images, the MANets code: RandomResizedCrop(224) + flip + brightness
    /// jitter for training, Resize(256) + CenterCrop(224) for testing; ImageNet constants.
    case imagenet
    /// 32×32 images, PODNet's code (`iCIFAR100`): RandomCrop(32, padding 4) + flip +
    /// ColorJitter(brightness 63/255) for training; PODNet's constants; class means
    /// over the images and their horizontal mirrors.
    case podnetCIFAR = "podnet-cifar"
    /// Natural images, PODNet's code (`ImageNet100`): the transforms of `imagenet`;
    /// class means over the images and their horizontal mirrors.
    case podnetImageNet = "podnet-imagenet"

    /// The image family the pipeline is made for.
    public enum Family: String, Sendable {
        /// 32×32 images (CIFAR-100, the synthetic data).
        case cifar
        /// Natural images of any size, cropped to 224×224.
        case imagenet
    }

    public var family: Family {
        switch self {
        case .cifar, .podnetCIFAR: return .cifar
        case .imagenet, .podnetImageNet: return .imagenet
        }
    }

    /// The training transform (augmentation on).
    public var train: any ImageTransform {
        switch self {
        case .cifar: return CIFARTransform(augment: true)
        case .imagenet, .podnetImageNet: return ImageNetTransform(augment: true)
        case .podnetCIFAR: return CIFARTransform(augment: true, brightness: 63.0 / 255.0, normalization: .podnetCIFAR)
        }
    }

    /// The test / evaluation transform (deterministic).
    public var test: any ImageTransform {
        switch self {
        case .cifar: return CIFARTransform(augment: false)
        case .imagenet, .podnetImageNet: return ImageNetTransform(augment: false)
        case .podnetCIFAR: return CIFARTransform(augment: false, normalization: .podnetCIFAR)
        }
    }

    /// The per-channel normalisation after `ToTensor`.
    public var normalization: Normalization {
        switch self {
        case .cifar: return .lucirCIFAR
        case .imagenet, .podnetImageNet: return .imagenet
        case .podnetCIFAR: return .podnetCIFAR
        }
    }
}
