/// Images stored as JPEG / PNG files, decoded on demand (in parallel by the batch
/// loader) and kept in a `DecodedImageCache` while its budget lasts.
public struct FileImageSource: ImageSource {
    /// File paths, by position.
    public let paths: [String]
    public let cache: DecodedImageCache

    public init(paths: [String], cache: DecodedImageCache) {
        self.paths = paths
        self.cache = cache
    }

    public var count: Int { paths.count }

    public func withImage<R>(at index: Int, _ body: (ImageView) throws -> R) throws -> R {
        precondition(index >= 0 && index < paths.count, "image index \(index) out of 0..<\(paths.count)")
        if let cached = cache.image(index) { return try cached.withView(body) }
        let path = paths[index]
        let image = try ImageDecoder.decode(try FileBytes.read(path, what: "an image file"), path: path)
        cache.insert(image, at: index)
        return try image.withView(body)
    }
}
