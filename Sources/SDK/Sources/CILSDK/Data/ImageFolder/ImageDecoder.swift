import CImageCodec

/// JPEG and PNG decoding to planar 8-bit RGB with libjpeg-turbo and libpng (and
/// encoding, used by tests and tools to write image folders).
///
/// JPEGs decode with libjpeg's defaults (accurate integer IDCT, fancy upsampling),
/// as PIL does, so pixels match PIL's on the same library; grey images become RGB;
/// CMYK/YCCK JPEGs are converted to RGB. PNGs of any depth and colour type become
/// 8-bit RGB; alpha is dropped (PIL's `convert("RGB")`).
public enum ImageDecoder {
    /// The container format, from the file's first bytes.
    public enum Format: String, Sendable {
        case jpeg, png
    }

    /// The format of `bytes` by signature (nil if neither JPEG nor PNG).
    public static func format(of bytes: UnsafeBufferPointer<UInt8>) -> Format? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 8, (0 ..< 8).allSatisfy({ bytes[$0] == png[$0] }) { return .png }
        return nil
    }

    /// The largest image decoded by default: 2²⁷ pixels (e.g. 11,585²; 384 MiB of
    /// RGB), far above any photograph of an image-folder dataset.
    public static let defaultMaxPixels = 1 << 27

    /// Decodes a JPEG or PNG file held in `bytes` (the format is taken from the
    /// content, not the file name). `path` is only used in error messages. An image
    /// whose header claims more than `maxPixels` pixels is refused before anything
    /// is allocated for it.
    public static func decode(_ bytes: [UInt8], path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        try bytes.withUnsafeBufferPointer { buffer in
            guard let format = format(of: buffer) else {
                throw DataError.decodeFailed(path: path, reason: "not a JPEG or PNG file (unknown signature)")
            }
            var image = cil_image()
            let status: Int32
            switch format {
            case .jpeg: status = cil_decode_jpeg(buffer.baseAddress, buffer.count, maxPixels, &image)
            case .png: status = cil_decode_png(buffer.baseAddress, buffer.count, maxPixels, &image)
            }
            defer { cil_image_free(&image) }
            guard status == 0, let planes = image.planes, image.width > 0, image.height > 0 else {
                throw DataError.decodeFailed(path: path, reason: "\(format.rawValue): \(message(&image.message))")
            }
            let count = 3 * Int(image.width) * Int(image.height)
            return RGBImage(width: Int(image.width), height: Int(image.height),
                            pixels: Array(UnsafeBufferPointer(start: planes, count: count)))
        }
    }

    /// Encodes `image` as a baseline JPEG of `quality` (1-100).
    public static func encodeJPEG(_ image: RGBImage, quality: Int = 95) throws -> [UInt8] {
        try encode(image, name: "JPEG") { planes, out, size, message in
            cil_encode_jpeg(planes, Int32(image.width), Int32(image.height), Int32(quality), out, size, message)
        }
    }

    /// Encodes `image` as an 8-bit RGB PNG.
    public static func encodePNG(_ image: RGBImage) throws -> [UInt8] {
        try encode(image, name: "PNG") { planes, out, size, message in
            cil_encode_png(planes, Int32(image.width), Int32(image.height), out, size, message)
        }
    }

    private static func encode(_ image: RGBImage, name: String,
                               _ call: (UnsafePointer<UInt8>, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
                                        UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>) -> Int32) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var messageBuffer = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { planes in
            messageBuffer.withUnsafeMutableBufferPointer { m in
                call(planes.baseAddress!, &out, &size, m.baseAddress!)
            }
        }
        defer { cil_buffer_free(out) }
        guard status == 0, let out else {
            let text = String(decoding: messageBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DataError.invalidSetting(name: "\(name) encoding", value: "\(image.width)x\(image.height)", expected: "an encodable image (\(text))")
        }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// The C message buffer as a String.
    private static func message<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "unknown error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}
