/// An owned 8-bit RGB image in the planar layout of `ImageView` (R, G, B planes,
/// each `height × width` row-major).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `3 * height * width` bytes.
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "an image needs a positive size, got \(width)x\(height)")
        precondition(pixels.count == 3 * width * height,
                     "an RGB image of \(width)x\(height) needs \(3 * width * height) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Bytes held (for cache accounting).
    public var byteCount: Int { pixels.count }

    /// Calls `body` with a view of the pixels.
    public func withView<R>(_ body: (ImageView) throws -> R) rethrows -> R {
        try pixels.withUnsafeBufferPointer { try body(ImageView(width: width, height: height, pixels: $0)) }
    }
}
