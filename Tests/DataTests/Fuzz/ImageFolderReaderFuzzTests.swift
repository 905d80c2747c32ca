import CILSDK
import Foundation
import FuzzSupport
import Testing

/// The image-folder reader's decoding (libjpeg-turbo, libpng) and its transforms
/// under random mutation of valid JPEG and PNG files: every file either decodes to an
/// image the ImageNet transforms accept, or is refused with a `DataError` naming it;
/// never a crash, a hang or an absurd allocation (a header claiming a huge image is
/// refused before anything is allocated for it).
@Suite("Fuzz: image-folder reader")
struct ImageFolderReaderFuzzTests {
    /// 2²⁰ pixels: mutated headers claiming more are refused, so no single input
    /// can make the decoder fill gigabytes.
    static let maxPixels = 1 << 20

    static func corpus() throws -> [[UInt8]] {
        let a = ImageFolderTests.picture(16, 12, tint: 30), b = ImageFolderTests.picture(9, 23, tint: 200)
        return [try ImageDecoder.encodeJPEG(a, quality: 90), try ImageDecoder.encodeJPEG(b, quality: 40),
                try ImageDecoder.encodePNG(a), try ImageDecoder.encodePNG(b)]
    }

    @Test func everyMutatedImageDecodesOrIsRefusedClearly() throws {
        let train = ImageNetTransform(augment: true, size: 24, resizeSize: 28)
        let test = ImageNetTransform(augment: false, size: 24, resizeSize: 28)
        var rng = RandomGenerator(seed: 7)
        var output = [Float](repeating: 0, count: 3 * 24 * 24)
        let report = FuzzCampaign.run("image-decoder", corpus: try Self.corpus(), isClear: { $0 is DataError }) { bytes in
            let image = try ImageDecoder.decode(bytes, path: "fuzz/input", maxPixels: Self.maxPixels)
            #expect(image.width > 0 && image.height > 0 && image.width * image.height <= Self.maxPixels)
            try image.withView { view in
                try output.withUnsafeMutableBufferPointer { out in
                    try train.apply(view, into: out, rng: &rng)
                    try test.apply(view, into: out, rng: &rng)
                }
            }
            let finite = output.allSatisfy { $0.isFinite }
            #expect(finite)
        }
        #expect(report.iterations > 4 && report.accepted > 0 && report.rejected > 0, "\(report)")
        #expect(report.findings.isEmpty, "\(report.findings)")
    }

    /// The limit itself: headers claiming 60,000 × 60,000 pixels (within what
    /// libjpeg and libpng accept) are refused by size, for both formats, before
    /// decoding.
    @Test func hugeClaimedDimensionsAreRefusedBeforeAllocating() throws {
        let corpus = try Self.corpus()
        var jpeg = corpus[0]
        // The SOF0 marker (FF C0): length (2), precision (1), height (2), width (2).
        let sof = try #require((0 ..< jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        for k in [5, 7] { jpeg[sof + k] = 0xEA; jpeg[sof + k + 1] = 0x60 }
        var png = corpus[2]
        // IHDR: width and height are 4-byte big-endian fields at offsets 16 and 20,
        // then the chunk's CRC (over type and data, offsets 12..<29) at 29.
        for k in 16 ..< 24 { png[k] = [0x00, 0x00, 0xEA, 0x60][k % 4] }
        let crc = Self.crc32(png[12 ..< 29])
        for k in 0 ..< 4 { png[29 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(k))) }
        for (name, bytes) in [("jpeg", jpeg), ("png", png)] {
            do {
                _ = try ImageDecoder.decode(bytes, path: "huge.\(name)")
                Issue.record("\(name): a 60000x60000 header decoded")
            } catch let error as DataError {
                guard case .decodeFailed(let path, let reason) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(path == "huge.\(name)")
                #expect(reason.contains("image too large: 60000x60000"), "\(name): \(reason)")
            }
        }
    }

    /// CRC-32 (ISO 3309, as PNG chunks use).
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0 ..< 8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
