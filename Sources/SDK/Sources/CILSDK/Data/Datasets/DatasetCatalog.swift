/// The datasets cil knows, by name, and how to load each.
public enum DatasetCatalog {
    /// "cifar100", "imagefolder", "synthetic".
    public static let names = ["cifar100", "imagefolder", "synthetic"]

    /// How to find or make a dataset.
    public struct Request: Sendable {
        /// One of `names`.
        public var name: String
        /// The data directory (`--data-dir`); nil means `CIL_DATA`. Unused by "synthetic".
        public var dataDirectory: String?
        /// Settings of the synthetic dataset.
        public var synthetic: SyntheticDataset.Settings
        /// Decoded-image cache budget for "imagefolder".
        public var imageCacheBytes: Int

        public init(name: String, dataDirectory: String? = nil, synthetic: SyntheticDataset.Settings = .init(),
                    imageCacheBytes: Int = DecodedImageCache.defaultCapacityBytes) {
            self.name = name
            self.dataDirectory = dataDirectory
            self.synthetic = synthetic
            self.imageCacheBytes = imageCacheBytes
        }
    }

    /// Loads (or generates) the dataset. Errors are `DataError`s naming the file.
    public static func load(_ request: Request) throws -> ImageDataset {
        switch request.name {
        case "cifar100": return try CIFAR100.load(directory: request.dataDirectory)
        case "imagefolder": return try ImageFolder.load(root: request.dataDirectory, cacheBytes: request.imageCacheBytes)
        case "synthetic": return try SyntheticDataset.make(request.synthetic)
        default: throw DataError.unknownDataset(name: request.name, known: names)
        }
    }
}
