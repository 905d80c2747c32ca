/// Per-channel normalisation after `ToTensor`: `(v / 255 - mean[c]) / std[c]`, in
/// float32 as torchvision computes it.
public struct Normalization: Sendable, Equatable, Codable {
    public let mean: [Float]
    public let std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == 3 && std.count == 3 && std.allSatisfy { $0 > 0 }, "normalisation needs 3 means and 3 positive stds")
        self.mean = mean
        self.std = std
    }

    /// LUCIR's CIFAR-100 constants, used by the original code (docs/ALGORITHMS.md §1.6).
    /// The "std" values are not CIFAR-100's real standard deviations; they are kept.
    public static let lucirCIFAR = Normalization(mean: [0.5071, 0.4866, 0.4409], std: [0.2009, 0.1984, 0.2023])
    /// PODNet's CIFAR-100 constants (PODNet `inclearn/lib/data/datasets.py`
    /// `iCIFAR100`; docs/ALGORITHMS.md §6.3).
    public static let podnetCIFAR = Normalization(mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761])
    /// The usual ImageNet constants (docs/ALGORITHMS.md §1.6).
    public static let imagenet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// The 256 possible outputs of one channel: `table[c * 256 + v]`.
    public var lookupTable: [Float] {
        var t = [Float](repeating: 0, count: 3 * 256)
        for c in 0 ..< 3 {
            for v in 0 ..< 256 { t[c * 256 + v] = (Float(v) / 255 - mean[c]) / std[c] }
        }
        return t
    }
}
