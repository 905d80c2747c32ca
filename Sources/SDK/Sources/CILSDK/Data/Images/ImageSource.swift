/// Random access to the images of one dataset split, by position `0..<count`.
///
/// Implementations must be safe to call from several threads at once: the batch
/// loader decodes and transforms the images of a batch in parallel.
public protocol ImageSource: Sendable {
    /// Number of images.
    var count: Int { get }
    /// Calls `body` with image `index` (valid only inside `body`). Throws a
    /// `DataError` naming the file when the image cannot be read or decoded.
    func withImage<R>(at index: Int, _ body: (ImageView) throws -> R) throws -> R
}

extension ImageSource {
    /// An owned copy of image `index`.
    public func image(at index: Int) throws -> RGBImage {
        try withImage(at: index) { view in
            RGBImage(width: view.width, height: view.height, pixels: Array(view.pixels.prefix(3 * view.planeSize)))
        }
    }
}
