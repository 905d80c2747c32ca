/// A batch of transformed images and their labels.
public struct Batch {
    /// `[B, 3, H, W]` float32, normalised (NCHW).
    public let images: Tensor
    /// The dataset's class index of each image (map them with `ClassOrder`).
    public let labels: [Int]
    /// The split positions the batch was made from.
    public let indices: [Int]

    public init(images: Tensor, labels: [Int], indices: [Int]) {
        self.images = images
        self.labels = labels
        self.indices = indices
    }
}
