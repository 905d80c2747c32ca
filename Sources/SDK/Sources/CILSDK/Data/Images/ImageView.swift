/// A read-only view of one 8-bit RGB image stored as three planes.
///
/// Layout: R plane, then G, then B; each plane `height × width`, row-major. Byte
/// (c, y, x) is `pixels[(c * height + y) * width + x]`: the layout of a CIFAR record
/// and of torchvision's `ToTensor` output, so no transposition is needed later.
/// The view is only valid inside the closure that handed it out.
public struct ImageView {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `3 * height * width` bytes, planar RGB.
    public let pixels: UnsafeBufferPointer<UInt8>

    public init(width: Int, height: Int, pixels: UnsafeBufferPointer<UInt8>) {
        precondition(pixels.count >= 3 * width * height, "an RGB view of \(width)x\(height) needs \(3 * width * height) bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Pixels per plane.
    public var planeSize: Int { width * height }

    /// The value of channel `c` (0 R, 1 G, 2 B) at row `y`, column `x`.
    @inline(__always)
    public subscript(c: Int, y: Int, x: Int) -> UInt8 {
        pixels[(c * height + y) * width + x]
    }
}
