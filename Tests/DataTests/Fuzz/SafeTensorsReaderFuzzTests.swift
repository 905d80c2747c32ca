import CILSDK
import Foundation
import FuzzSupport
import Testing

/// The safetensors reader under random mutation (bit flips, truncation, insertions,
/// deletions, splices, huge integers): every file either opens, and then every tensor
/// reads with its dtype's accessor and holds product(shape) elements, or is refused
/// with a `SafeTensorsError` naming it; never a crash, a hang or an absurd allocation.
@Suite("Fuzz: safetensors reader")
struct SafeTensorsReaderFuzzTests {
    static func corpus() throws -> [[UInt8]] {
        var a = SafeTensorsWriter(metadata: ["phase": "0", "layout": "plain"])
        try a.add("conv1.weight", floats: (0..<54).map { Float($0) / 7 }, shape: [2, 3, 3, 3])
        try a.add("bn1.num_batches_tracked", int64s: [5], shape: [])
        try a.add("fc.sigma", floats: [1], shape: [1])
        try a.add("mask", bools: [true, false], shape: [2])
        var b = SafeTensorsWriter()
        try b.add("x", doubles: [1, 2], shape: [2])
        try b.add("ids", int32s: [3], shape: [1])
        try b.add("empty", floats: [], shape: [0, 3])
        try b.add("half", dtype: .f16, shape: [2], rawBytes: [0, 0x3C, 0, 0xC0])
        return [a.encoded(), b.encoded()]
    }

    @Test func everyMutatedFileReadsOrIsRefusedClearly() throws {
        let report = FuzzCampaign.run("safetensors", corpus: try Self.corpus(), isClear: { $0 is SafeTensorsError }) { bytes in
            let file = try SafeTensorsFile(bytes: bytes, path: "fuzz.safetensors")
            for info in file.tensors {
                let count: Int
                switch info.dtype {
                case .f32, .f16, .bf16: count = try file.floats(info.name).count
                case .f64: count = try file.doubles(info.name).count
                case .bool: count = (try? file.bools(info.name).count) ?? info.elementCount
                case .u64: count = (try? file.int64s(info.name).count) ?? info.elementCount
                case .i64, .i32, .u32, .i16, .u16, .i8, .u8: count = try file.int64s(info.name).count
                case .f8e5m2, .f8e4m3: count = try file.rawBytes(info.name).count
                }
                #expect(count == info.elementCount, "\(info.name)")
            }
        }
        #expect(report.iterations > 2 && report.accepted > 0 && report.rejected > 0, "\(report)")
        #expect(report.findings.isEmpty, "\(report.findings)")
    }
}
