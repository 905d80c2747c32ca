/// One split (train or test) of a labelled image dataset: the images and, for each,
/// its class index in the dataset's own numbering (e.g. CIFAR's fine label, an
/// image folder's sorted-folder index). Class orders map these to mapped labels.
public struct ImageSplit: Sendable {
    /// "train" or "test" (image folders call their test split "val" on disk).
    public let name: String
    /// The images, by position.
    public let source: any ImageSource
    /// `labels[i]` is the class of image `i`, in `0..<numClasses`.
    public let labels: [Int]
    /// Where the images came from (a file or directory), for messages.
    public let origin: String

    public init(name: String, source: any ImageSource, labels: [Int], origin: String) {
        precondition(source.count == labels.count, "\(labels.count) labels for \(source.count) images")
        self.name = name
        self.source = source
        self.labels = labels
        self.origin = origin
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// Images per class: `result[c]` = number of images of class `c`.
    public func imagesPerClass(numClasses: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: numClasses)
        for l in labels where l >= 0 && l < numClasses { counts[l] += 1 }
        return counts
    }

    /// Positions of the images of each class, in split order: `result[c]`.
    public func indicesByClass(numClasses: Int) -> [[Int]] {
        var result = [[Int]](repeating: [], count: numClasses)
        for (i, l) in labels.enumerated() where l >= 0 && l < numClasses { result[l].append(i) }
        return result
    }

    /// Positions of the images whose class is in `classes`, in split order (the
    /// original code's boolean-mask selection `X[np.isin(Y, classes)]`).
    public func indices(ofClasses classes: some Sequence<Int>) -> [Int] {
        let wanted = Set(classes)
        return labels.indices.filter { wanted.contains(labels[$0]) }
    }
}
