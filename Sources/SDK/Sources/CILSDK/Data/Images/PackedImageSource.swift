/// Equal-sized images packed in one byte array, one record per image: the CIFAR
/// binary layout (a record = `headerBytes` label bytes, then the R, G, B planes) or
/// plain back-to-back planar images (`headerBytes` 0).
///
/// Image `i` occupies bytes `i * recordBytes + headerBytes ..< + 3 * height * width`.
/// The array is shared, never copied, so a CIFAR file is read once into memory and
/// used as is.
public struct PackedImageSource: ImageSource {
    public let count: Int
    public let width: Int
    public let height: Int
    /// Bytes from the start of one record to the next.
    public let recordBytes: Int
    /// Bytes before the pixels in each record.
    public let headerBytes: Int
    private let bytes: [UInt8]

    /// `bytes` must hold `count` records of `recordBytes` bytes.
    public init(bytes: [UInt8], count: Int, width: Int, height: Int, recordBytes: Int? = nil, headerBytes: Int = 0) {
        let record = recordBytes ?? 3 * width * height + headerBytes
        precondition(record >= headerBytes + 3 * width * height, "record of \(record) bytes cannot hold a \(width)x\(height) RGB image")
        precondition(bytes.count >= count * record, "\(bytes.count) bytes cannot hold \(count) records of \(record) bytes")
        self.bytes = bytes
        self.count = count
        self.width = width
        self.height = height
        self.recordBytes = record
        self.headerBytes = headerBytes
    }

    public func withImage<R>(at index: Int, _ body: (ImageView) throws -> R) throws -> R {
        precondition(index >= 0 && index < count, "image index \(index) out of 0..<\(count)")
        return try bytes.withUnsafeBufferPointer { all in
            let start = index * recordBytes + headerBytes
            let view = UnsafeBufferPointer(rebasing: all[start ..< start + 3 * width * height])
            return try body(ImageView(width: width, height: height, pixels: view))
        }
    }
}
