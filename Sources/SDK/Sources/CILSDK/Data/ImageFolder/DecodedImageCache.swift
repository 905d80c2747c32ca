import Synchronization

/// Decoded images kept in memory up to a byte budget, so that each file is decoded
/// once while the budget lasts (CIFAR-sized folders fit entirely; for ImageNet-sized
/// folders the first images that fit stay cached and the rest are decoded again on
/// every use, in parallel by the batch loader). Thread-safe.
public final class DecodedImageCache: Sendable {
    private struct State {
        var images: [Int: RGBImage] = [:]
        var bytes = 0
    }

    /// The most bytes of pixels kept.
    public let capacityBytes: Int
    private let state = Mutex(State())

    public init(capacityBytes: Int) {
        self.capacityBytes = max(0, capacityBytes)
    }

    /// The default budget: `CIL_IMAGE_CACHE_MB` megabytes if set, else 2048 MB.
    public static var defaultCapacityBytes: Int {
        if let text = ProcessEnvironment.value("CIL_IMAGE_CACHE_MB"), let mb = Int(text), mb >= 0 { return mb << 20 }
        return 2048 << 20
    }

    /// The cached image `index`, if any.
    public func image(_ index: Int) -> RGBImage? {
        state.withLock { $0.images[index] }
    }

    /// Keeps `image` under `index` if it fits in the budget.
    public func insert(_ image: RGBImage, at index: Int) {
        state.withLock { s in
            guard s.images[index] == nil, s.bytes + image.byteCount <= capacityBytes else { return }
            s.images[index] = image
            s.bytes += image.byteCount
        }
    }

    /// Images and bytes held now.
    public var usage: (images: Int, bytes: Int) {
        state.withLock { ($0.images.count, $0.bytes) }
    }
}
